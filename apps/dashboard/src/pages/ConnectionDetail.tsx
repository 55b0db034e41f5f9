import { Alert, Badge, Button, Card, Group, Loader, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, ConnectionTestResult, ConnectionTool, data, problemText } from '../api/client';
import { ConfigFileNotice } from '../components/ConfigFileNotice';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { useRole } from '../session';
import { StatusBadge } from './Connections';
import { QueryState } from '../components/QueryState';

const PIN_LABEL: Record<ConnectionTool['pin'], string> = { accepted: 'accepted', new: 'new, held back', changed: 'changed, held back' };

const price = (micros: number) => (micros ? `$${(micros / 1_000_000).toFixed(6).replace(/0{1,4}$/, '')}` : '—');

/** One connection: its health, its tools as the organization governs them, and what an admin may do with it. */
export function ConnectionDetailPage() {
  const { org = '', id = '' } = useParams();
  const { admin } = useRole(org);
  const navigate = useNavigate();
  const queries = useQueryClient();
  const path = { params: { path: { id } } };
  const [confirming, setConfirming] = useState<'delete' | 'disable' | null>(null);
  const [tested, setTested] = useState<ConnectionTestResult | null>(null);

  const connection = useQuery({ queryKey: ['connections', org, id], queryFn: () => data(api.GET('/api/v1/connections/{id}', path)) });
  const health = useQuery({ queryKey: ['connections', org, id, 'health'], queryFn: () => data(api.GET('/api/v1/connections/{id}/health', path)), refetchInterval: 10_000 });
  const tools = useQuery({ queryKey: ['connections', org, id, 'tools'], queryFn: () => data(api.GET('/api/v1/connections/{id}/tools', path)) });
  const reload = () => void queries.invalidateQueries({ queryKey: ['connections', org] });
  const failed = (error: unknown) => notifications.show({ color: 'red', message: problemText(error) });

  const test = useMutation({ mutationFn: () => data(api.POST('/api/v1/connections/{id}/test', path)), onSuccess: setTested, onError: failed });
  const refresh = useMutation({
    mutationFn: () => data(api.POST('/api/v1/connections/{id}/refresh', path)),
    onSuccess: (after) => notifications.show({ color: 'green', message: `Tools refreshed: ${after.toolCount} listed.` }),
    onError: failed,
    onSettled: reload,
  });
  const enable = useMutation({
    mutationFn: () => data(api.POST('/api/v1/connections/{id}/enable', path)),
    onSuccess: (after) => notifications.show({ color: 'green', message: `${after.name} is enabled; its tools return to clients once it connects.` }),
    onError: failed,
    onSettled: reload,
  });
  const disable = useMutation({
    mutationFn: () => data(api.POST('/api/v1/connections/{id}/disable', path)),
    onSuccess: (after) => {
      setConfirming(null);
      notifications.show({ color: 'green', message: `${after.name} is disabled.` });
    },
    onSettled: reload,
  });
  const remove = useMutation({
    mutationFn: () => data(api.DELETE('/api/v1/connections/{id}', path)),
    onSuccess: () => {
      notifications.show({ color: 'green', message: `${connection.data?.name ?? 'The connection'} is deleted.` });
      void queries.invalidateQueries({ queryKey: ['connections', org] });
      void navigate(`/o/${org}/connections`);
    },
  });

  if (!connection.data) return <ConnectionLoading query={connection} org={org} />;
  const current = connection.data;
  const state = health.data;
  const readOnly = current.configManaged;
  const whyId = 'connection-read-only';
  // Actions that change the connection: only admins, and never on a config-file connection (the notice says why).
  const changeProps = { disabled: !admin || readOnly, 'aria-describedby': readOnly ? whyId : admin ? undefined : 'connection-admins-only' };

  return (
    <Stack>
      <Group justify="space-between">
        <Group>
          <Title order={2}>{current.name}</Title>
          <StatusBadge health={state} />
          {readOnly && (
            <Badge variant="outline" color="blue.9">
              config file
            </Badge>
          )}
        </Group>
        <Text size="sm">
          <Link to={`/o/${org}/connections`}>All connections</Link>
        </Text>
      </Group>
      {readOnly && <ConfigFileNotice connection={current} id={whyId} />}
      {admin && (
        <Group>
          <Button onClick={() => test.mutate()} loading={test.isPending}>
            Test
          </Button>
          <Button variant="default" onClick={() => refresh.mutate()} loading={refresh.isPending} disabled={!current.enabled}>
            Refresh tools
          </Button>
          {current.enabled ? (
            <Button variant="default" onClick={() => setConfirming('disable')} {...changeProps}>
              Disable
            </Button>
          ) : (
            <Button variant="default" onClick={() => enable.mutate()} loading={enable.isPending} {...changeProps}>
              Enable
            </Button>
          )}
          <Button variant="default" component={Link} to={`/o/${org}/connections/${id}/edit`}>
            Edit
          </Button>
          <Button color="red" variant="light" onClick={() => setConfirming('delete')} {...changeProps}>
            Delete
          </Button>
        </Group>
      )}
      {!admin && (
        <Text size="sm" c="dimmed" id="connection-admins-only">
          Only an admin or owner may test or change a connection.
        </Text>
      )}
      {tested && <TestOutcome result={tested} />}
      {health.isError && (
        <Alert color="red" role="alert" title="The connection's health could not be loaded">
          {problemText(health.error)}
        </Alert>
      )}
      {state && (
        <SimpleGrid cols={{ base: 2, md: 4 }}>
          <Fact label="Transport" value={`${current.transport} ${current.url ?? current.command ?? ''}`} />
          <Fact label="Server" value={state.server ? `${state.server.name} ${state.server.version}` : '—'} />
          <Fact label="Protocol" value={state.protocolVersion ?? '—'} />
          <Fact label="Restarts" value={String(state.restarts)} />
          <Fact label="In flight" value={`${state.inFlight} (${state.queued} queued)`} />
          <Fact label="Last error" value={state.lastError ?? state.toolListError ?? '—'} />
          <Fact label="Tools refreshed" value={state.lastToolRefreshAt ? new Date(state.lastToolRefreshAt).toLocaleString() : '—'} />
          {Object.keys(current.headers).length > 0 && <Fact label="Headers (values hidden)" value={Object.keys(current.headers).join(', ')} />}
          {Object.keys(current.env).length > 0 && <Fact label="Environment (values hidden)" value={Object.keys(current.env).join(', ')} />}
        </SimpleGrid>
      )}
      <Title order={3} size="h4">
        Tools
      </Title>
      <QueryState query={tools} what="tools" />
      {tools.data?.length === 0 && <Text c="dimmed">{current.enabled ? 'No tool listed: test the connection or refresh its tools.' : 'Disabled: no tool is served.'}</Text>}
      {tools.data && tools.data.length > 0 && (
        <Table striped aria-label={`Tools of ${current.name}`}>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Exposed name</Table.Th>
              <Table.Th>Server&apos;s name</Table.Th>
              <Table.Th>Class</Table.Th>
              <Table.Th>Price per call</Table.Th>
              <Table.Th>Pin</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {tools.data.map((tool) => (
              <Table.Tr key={tool.name}>
                <Table.Td>{tool.name}</Table.Td>
                <Table.Td>{tool.downstreamName}</Table.Td>
                <Table.Td>{tool.classes.join(', ')}</Table.Td>
                <Table.Td>{price(tool.perCallMicros)}</Table.Td>
                <Table.Td>{tool.pin === 'accepted' ? PIN_LABEL.accepted : <Link to={`/o/${org}/tool-changes`}>{PIN_LABEL[tool.pin]}</Link>}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <ConfirmDialog
        opened={confirming === 'disable'}
        title={`Disable ${current.name}?`}
        message="Its tools disappear from every client at once and calls to them are refused until it is enabled again. Its definition and credentials are kept."
        confirmLabel="Disable"
        pending={disable.isPending}
        error={disable.error}
        onConfirm={() => disable.mutate()}
        onClose={() => setConfirming(null)}
      />
      <ConfirmDialog
        opened={confirming === 'delete'}
        title={`Delete ${current.name}?`}
        message="Its tools disappear from every client and its stored credentials are erased. This cannot be undone."
        confirmLabel="Delete"
        pending={remove.isPending}
        error={remove.error}
        onConfirm={() => remove.mutate()}
        onClose={() => setConfirming(null)}
      />
    </Stack>
  );
}

/** A connection being read, or why it could not be, with the way back. */
export function ConnectionLoading({ query, org }: { query: { isError: boolean; error: unknown }; org: string }) {
  if (!query.isError) return <Loader aria-label="Loading the connection" />;
  return (
    <Alert color="red" role="alert" title="The connection could not be loaded">
      {problemText(query.error)} <Link to={`/o/${org}/connections`}>Back to the connections</Link>
    </Alert>
  );
}

function Fact({ label, value }: { label: string; value: string }) {
  return (
    <Card withBorder padding="sm">
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" style={{ overflowWrap: 'anywhere' }}>
        {value}
      </Text>
    </Card>
  );
}

/** What a test found, in words: the server and its tools, or why it failed and what to check. */
export function TestOutcome({ result }: { result: ConnectionTestResult }) {
  if (!result.ok)
    return (
      <Alert color="red" role="alert" title="The test failed">
        {result.error} Check the address (or command), its credentials, and that the server is running; nothing was saved or changed.
      </Alert>
    );
  const server = result.server ? `${result.server.name} ${result.server.version}` : 'the server';
  return (
    <Alert color="green" role="status" title="The test succeeded">
      Connected to {server} in {result.latencyMs} ms{result.protocolVersion ? ` (MCP ${result.protocolVersion})` : ''}; it lists {result.toolCount} tool{result.toolCount === 1 ? '' : 's'}
      {result.tools.length ? `: ${result.tools.join(', ')}` : ''}.
    </Alert>
  );
}
