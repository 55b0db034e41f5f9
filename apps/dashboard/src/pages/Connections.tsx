import { Alert, Anchor, Badge, Button, Group, Loader, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api, ConnectionHealth, data, problemText } from '../api/client';
import { useRole } from '../session';

// Shades dark enough for white text (WCAG AA, checked by axe-core in the tests).
const STATUS_COLOR: Record<ConnectionHealth['status'], string> = {
  connected: 'teal.9',
  connecting: 'orange.9',
  down: 'red.9',
  disabled: 'gray.7',
  not_running: 'red.9',
};

export function StatusBadge({ health }: { health: ConnectionHealth | undefined }) {
  if (!health) return <Text size="sm">unknown</Text>;
  return (
    <Badge variant="filled" color={STATUS_COLOR[health.status]}>
      {health.status.replace('_', ' ')}
    </Badge>
  );
}

// Status changes on its own (a server goes down, restarts): read it again often enough to notice.
export const healthQuery = (org: string) => ({ queryKey: ['connections', org, 'health'], queryFn: () => data(api.GET('/api/v1/connections/health')), refetchInterval: 10_000 });

/** The organization's downstream connections: how each is doing, and the way to its detail. */
export function ConnectionsPage() {
  const { org = '' } = useParams();
  const { admin } = useRole(org);
  const connections = useQuery({ queryKey: ['connections', org, 'list'], queryFn: () => data(api.GET('/api/v1/connections')) });
  const health = useQuery(healthQuery(org));
  const healthOf = new Map(health.data?.map((entry) => [entry.id, entry]));

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Connections</Title>
        {admin && (
          <Button component={Link} to={`/o/${org}/connections/new`}>
            New connection
          </Button>
        )}
      </Group>
      <Text size="sm" c="dimmed">
        The MCP servers this organization&apos;s tools come from. Connections from the config file are changed there.
      </Text>
      {connections.isPending && <Loader aria-label="Loading connections" />}
      {(connections.isError || health.isError) && (
        <Alert color="red" role="alert" title="The connections could not be loaded">
          {problemText(connections.error ?? health.error)}
        </Alert>
      )}
      {connections.data?.length === 0 && <Text c="dimmed">No connection yet.{admin ? ' Add one with New connection.' : ''}</Text>}
      {connections.data && connections.data.length > 0 && (
        <Table striped aria-label="Connections">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Transport</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Last error</Table.Th>
              <Table.Th>Tools</Table.Th>
              <Table.Th>Restarts</Table.Th>
              <Table.Th>In flight</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {connections.data.map((connection) => {
              const entry = healthOf.get(connection.id);
              return (
                <Table.Tr key={connection.id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/o/${org}/connections/${connection.id}`}>
                      {connection.name}
                    </Anchor>
                    {connection.configManaged && (
                      <Badge ml="xs" variant="outline" color="blue.9">
                        config file
                      </Badge>
                    )}
                  </Table.Td>
                  <Table.Td>{connection.transport}</Table.Td>
                  <Table.Td>
                    <StatusBadge health={entry} />
                  </Table.Td>
                  <Table.Td style={{ maxWidth: 320, overflowWrap: 'anywhere' }}>{entry?.lastError ?? '—'}</Table.Td>
                  <Table.Td>{entry ? entry.toolCount + (entry.heldBackTools ? ` (+${entry.heldBackTools} held back)` : '') : '—'}</Table.Td>
                  <Table.Td>{entry?.restarts ?? '—'}</Table.Td>
                  <Table.Td>{entry ? entry.inFlight + (entry.queued ? ` (+${entry.queued} queued)` : '') : '—'}</Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
