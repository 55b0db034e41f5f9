import { Badge, Button, Stack, Table, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, AuditSink, data, problemText } from '../api/client';
import { useRole } from '../session';
import { when } from './Audit';
import { QueryState } from '../components/QueryState';

const destination = (sink: AuditSink) => (sink.settings.url ? new URL(sink.settings.url).host : `${sink.settings.host ?? ''}:${sink.settings.port ?? ''}`);

/** The SIEM sinks: how far behind each is, its last error, and Retry for one in the dead letter (admins). */
export function AuditSinks({ organization }: { organization: string }) {
  const { admin } = useRole(organization);
  const queries = useQueryClient();
  const sinks = useQuery({ queryKey: ['audit-sinks', organization], queryFn: () => data(api.GET('/api/v1/audit/sinks')), refetchInterval: 15_000 });
  const retry = useMutation({
    mutationFn: (sink: AuditSink) => data(api.POST('/api/v1/audit/sinks/{id}/retry', { params: { path: { id: sink.id } } })),
    onSuccess: (sink) => notifications.show({ color: 'green', message: `${sink.name} delivers again from where it stopped; nothing is skipped.` }),
    onError: (error) => notifications.show({ color: 'red', message: problemText(error) }),
    onSettled: () => void queries.invalidateQueries({ queryKey: ['audit-sinks', organization] }),
  });
  return (
    <Stack component="section" aria-labelledby="audit-sinks">
      <Title order={3} id="audit-sinks">
        SIEM sinks
      </Title>
      <QueryState query={sinks} what="sinks" />
      {sinks.data?.length === 0 && <Text c="dimmed">No sink: records stay in Gatehouse. Add one in the config file or through the API.</Text>}
      {sinks.data && sinks.data.length > 0 && (
        <Table striped aria-label="SIEM sinks">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Sink</Table.Th>
              <Table.Th>State</Table.Th>
              <Table.Th>Lag (records)</Table.Th>
              <Table.Th>Failures</Table.Th>
              <Table.Th>Last error</Table.Th>
              <Table.Th>Last delivered</Table.Th>
              <Table.Th>Retry</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {sinks.data.map((sink) => (
              <Table.Tr key={sink.id}>
                <Table.Td>
                  {sink.name}
                  <Text size="xs" c="dimmed">
                    {sink.type} ({sink.format}) to {destination(sink)}
                    {sink.enabled ? '' : ', switched off'}
                  </Text>
                </Table.Td>
                <Table.Td>
                  <Badge variant="filled" color={sink.state === 'dead_letter' ? 'red.9' : 'teal.9'}>
                    {sink.state === 'dead_letter' ? 'dead letter' : 'active'}
                  </Badge>
                </Table.Td>
                <Table.Td>{sink.lag}</Table.Td>
                <Table.Td>{sink.failures}</Table.Td>
                <Table.Td>{sink.lastError ?? '—'}</Table.Td>
                <Table.Td>{when(sink.lastDeliveredAt)}</Table.Td>
                <Table.Td>
                  {admin ? (
                    <Button size="xs" variant="light" aria-label={`Retry ${sink.name}`} loading={retry.isPending && retry.variables?.id === sink.id} onClick={() => retry.mutate(sink)}>
                      Retry
                    </Button>
                  ) : (
                    <Text size="xs" c="dimmed">
                      Admins retry
                    </Text>
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
