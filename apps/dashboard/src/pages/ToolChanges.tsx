import { Alert, Badge, Button, Card, Code, Group, Stack, Table, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useParams } from 'react-router';
import { api, data, problemText, ToolChange } from '../api/client';
import { useRole } from '../session';
import { QueryState } from '../components/QueryState';

const shown = (value: unknown) => (value === undefined ? '—' : typeof value === 'string' ? value : JSON.stringify(value, null, 2));

/** Tool definitions pinning holds back: what was accepted, what the server sends now, and Accept (bound to that hash). */
export function ToolChangesPage() {
  const { org = '' } = useParams();
  const { admin } = useRole(org);
  const changes = useQuery({ queryKey: ['tool-changes', org], queryFn: () => data(api.GET('/api/v1/tool-changes')), refetchInterval: 30_000 });
  return (
    <Stack>
      <Title order={2}>Tool changes</Title>
      <Text size="sm" c="dimmed">
        A tool whose definition changed, or that appeared after a connection&apos;s first tool list, is held back from every client until an admin accepts what it says now.
      </Text>
      <QueryState query={changes} what="tool changes" />
      {changes.data?.length === 0 && <Text c="dimmed">No tool is held back.</Text>}
      {changes.data?.map((change) => (
        <ChangeCard key={`${change.connection.id}/${change.name}`} change={change} organization={org} admin={admin} />
      ))}
    </Stack>
  );
}

function ChangeCard({ change, organization, admin }: { change: ToolChange; organization: string; admin: boolean }) {
  const queries = useQueryClient();
  const accept = useMutation({
    mutationFn: () =>
      data(api.POST('/api/v1/connections/{id}/tool-changes/{toolName}/accept', { params: { path: { id: change.connection.id, toolName: change.name } }, body: { hash: change.pending.hash } })),
    onSuccess: () => notifications.show({ color: 'green', message: `${change.name} is accepted and listed again.` }),
    onSettled: () => void queries.invalidateQueries({ queryKey: ['tool-changes', organization] }),
  });
  const titleId = `change-${change.connection.id}-${change.name}`;
  return (
    <Card withBorder component="article" aria-labelledby={titleId}>
      <Group justify="space-between">
        <div>
          <Title order={3} size="h4" id={titleId}>
            {change.name}
          </Title>
          <Text size="sm" c="dimmed">
            on {change.connection.name} · since {new Date(change.changedAt).toLocaleString()}
          </Text>
        </div>
        <Badge variant="filled" color={change.kind === 'new' ? 'blue.8' : 'orange.9'}>{change.kind === 'new' ? 'new tool' : 'changed'}</Badge>
      </Group>
      {change.kind === 'new' ? (
        <>
          <Text size="sm" mt="sm">
            A tool this connection did not list before. Its definition:
          </Text>
          <Code block>{JSON.stringify(change.pending.definition, null, 2)}</Code>
        </>
      ) : (
        <Table mt="sm" withTableBorder aria-label={`Changes to ${change.name}`}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Field</Table.Th>
              <Table.Th>Accepted</Table.Th>
              <Table.Th>Now</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {change.diff.map((field) => (
              <Table.Tr key={field.path}>
                <Table.Td>
                  <Code>{field.path}</Code>
                </Table.Td>
                <Table.Td style={{ whiteSpace: 'pre-wrap' }}>{shown(field.before)}</Table.Td>
                <Table.Td style={{ whiteSpace: 'pre-wrap' }}>{shown(field.after)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <Group mt="md">
        <Button onClick={() => accept.mutate()} loading={accept.isPending} disabled={!admin} aria-label={`Accept ${change.name}`} aria-describedby={admin ? undefined : `${titleId}-why`}>
          Accept
        </Button>
        {!admin && (
          <Text size="sm" c="dimmed" id={`${titleId}-why`}>
            Only an admin or owner may accept a tool change.
          </Text>
        )}
        <Text size="xs" c="dimmed">
          Accepts exactly the definition shown ({change.pending.hash.slice(0, 12)}…): if it changes again first, you review it again.
        </Text>
      </Group>
      {accept.isError && (
        <Alert color="red" role="alert" mt="sm">
          {problemText(accept.error)}
        </Alert>
      )}
    </Card>
  );
}
