import { Alert, Anchor, Button, Code, Group, Modal, SimpleGrid, Stack, Table, Text, TextInput, Title, VisuallyHidden } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { FormEvent, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { api, AuditRecord, data, problemText } from '../api/client';
import { AuditSinks } from './AuditSinks';
import { QueryState } from '../components/QueryState';

// The filters the records and export endpoints share, as the URL and the API name them.
const FILTERS = [
  { key: 'kind', label: 'Kind', placeholder: 'tools.call.*' },
  { key: 'actor', label: 'Actor', placeholder: 'Key name, id or email' },
  { key: 'connection', label: 'Connection', placeholder: 'everything' },
  { key: 'tool', label: 'Tool', placeholder: 'Tool name as exposed' },
  { key: 'outcome', label: 'Outcome', placeholder: 'ok, denied, success…' },
  { key: 'callId', label: 'Call id', placeholder: 'UUID' },
] as const;
const TIMES = [
  { key: 'from', label: 'From' },
  { key: 'to', label: 'To (not included)' },
] as const;
const KEYS = [...FILTERS.map((filter) => filter.key), ...TIMES.map((time) => time.key)];
const EXPORTS = [
  { format: 'ndjson', label: 'NDJSON' },
  { format: 'csv', label: 'CSV' },
  { format: 'ocsf', label: 'OCSF' },
] as const;

export const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '—');
const text = (value: unknown) => (typeof value === 'string' ? value : value == null ? '' : JSON.stringify(value));
const actorOf = (record: AuditRecord) => text(record.actor['name'] ?? record.actor['id'] ?? record.actor['type']);
const targetOf = (record: AuditRecord) => (record.target ? [record.target['connection'], record.target['tool'] ?? record.target['name'] ?? record.target['id']].filter(Boolean).map(text).join(' / ') : '');

// datetime-local inputs speak the browser's local time without an offset; the URL and the API, ISO 8601 in UTC.
const toLocalInput = (iso: string) => {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? '' : new Date(at.getTime() - at.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};
const fromLocalInput = (local: string) => (local ? new Date(local).toISOString() : '');

/** The filter of the URL, as the API takes it (the page's cursor and size apart). */
function filterOf(search: URLSearchParams): Record<string, string> {
  return Object.fromEntries(KEYS.flatMap((key) => (search.get(key) ? [[key, search.get(key)!]] : [])));
}

/** The organization's audit log: filters kept in the URL, pages by cursor, a record's detail, verification, exports and sinks. */
export function AuditPage() {
  const { org = '' } = useParams();
  const [search, setSearch] = useSearchParams();
  const filter = filterOf(search);
  const cursor = search.get('cursor') ?? undefined;
  const limit = Number(search.get('limit') ?? 50);
  const [open, setOpen] = useState<AuditRecord | null>(null);
  const records = useQuery({
    queryKey: ['audit-records', org, filter, cursor, limit],
    queryFn: () => data(api.GET('/api/v1/audit/records', { params: { query: { ...filter, cursor, limit } } })),
    placeholderData: (previous) => previous,
  });
  const go = (next: Record<string, string>) => setSearch({ ...next, ...(search.get('limit') ? { limit: search.get('limit')! } : {}) });
  // null: back to the newest page.
  const page = (to: string | null) => go(to === null ? filter : { ...filter, cursor: to });

  return (
    <Stack>
      <Title order={2}>Audit log</Title>
      <Text size="sm" c="dimmed">
        Every tool call, decision and change, hash-chained and signed. Filters stay in the address, so a view can be shared or reloaded.
      </Text>
      <Filters key={search.toString()} initial={filter} onApply={go} />
      <Group>
        <VerifyChain />
        <Text size="sm" fw={500}>
          Export this filter:
        </Text>
        {EXPORTS.map(({ format, label }) => (
          <Button key={format} component="a" variant="default" size="xs" download href={`/api/v1/audit/export?${new URLSearchParams({ ...filter, format, organization: org })}`}>
            Export {label}
          </Button>
        ))}
      </Group>
      <QueryState query={records} what="audit records" hint="Change the filter and apply it again, or clear it." />
      {records.data && (
        <>
          {records.data.items.length === 0 ? (
            <Text c="dimmed">No records match this filter.</Text>
          ) : (
            <Table striped highlightOnHover aria-label="Audit records">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Time</Table.Th>
                  <Table.Th>Kind</Table.Th>
                  <Table.Th>Actor</Table.Th>
                  <Table.Th>Target</Table.Th>
                  <Table.Th>Outcome</Table.Th>
                  <Table.Th>
                    <VisuallyHidden>Actions</VisuallyHidden>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {records.data.items.map((record) => (
                  <Table.Tr key={record.eventId}>
                    <Table.Td>{when(record.occurredAt)}</Table.Td>
                    <Table.Td>
                      <Code>{record.kind}</Code>
                    </Table.Td>
                    <Table.Td>{actorOf(record)}</Table.Td>
                    <Table.Td>{targetOf(record)}</Table.Td>
                    <Table.Td>{record.outcome ?? '—'}</Table.Td>
                    <Table.Td>
                      <Button size="xs" variant="light" aria-label={`Details of ${record.kind} at ${when(record.occurredAt)} (${record.eventId})`} onClick={() => setOpen(record)}>
                        Details
                      </Button>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
          <Group>
            <Button variant="default" disabled={!records.data.prevCursor} onClick={() => page(null)}>
              Newest
            </Button>
            <Button variant="default" disabled={!records.data.prevCursor} onClick={() => page(records.data.prevCursor)}>
              Newer
            </Button>
            <Button variant="default" disabled={!records.data.nextCursor} onClick={() => page(records.data.nextCursor)}>
              Older
            </Button>
          </Group>
        </>
      )}
      <RecordDetail record={open} organization={org} onClose={() => setOpen(null)} />
      <AuditSinks organization={org} />
    </Stack>
  );
}

function Filters({ initial, onApply }: { initial: Record<string, string>; onApply(filter: Record<string, string>): void }) {
  const [values, setValues] = useState<Record<string, string>>({ ...initial, from: toLocalInput(initial['from'] ?? ''), to: toLocalInput(initial['to'] ?? '') });
  const set = (key: string, value: string) => setValues((current) => ({ ...current, [key]: value }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const next = { ...values, from: fromLocalInput(values['from'] ?? ''), to: fromLocalInput(values['to'] ?? '') };
    onApply(Object.fromEntries(Object.entries(next).filter(([, value]) => value.trim() !== '').map(([key, value]) => [key, value.trim()])));
  };
  return (
    <form onSubmit={submit} aria-label="Filter the audit log">
      <SimpleGrid cols={{ base: 1, sm: 2, lg: 4 }}>
        {TIMES.map(({ key, label }) => (
          <TextInput key={key} type="datetime-local" label={label} value={values[key] ?? ''} onChange={(event) => set(key, event.currentTarget.value)} />
        ))}
        {FILTERS.map(({ key, label, placeholder }) => (
          <TextInput key={key} label={label} placeholder={placeholder} value={values[key] ?? ''} onChange={(event) => set(key, event.currentTarget.value)} />
        ))}
      </SimpleGrid>
      <Group mt="sm">
        <Button type="submit">Apply filter</Button>
        <Button variant="default" onClick={() => onApply({})}>
          Clear filter
        </Button>
      </Group>
    </form>
  );
}

function VerifyChain() {
  const verify = useMutation({ mutationFn: () => data(api.GET('/api/v1/audit/verify')) });
  const result = verify.data;
  return (
    <>
      <Button onClick={() => verify.mutate()} loading={verify.isPending}>
        Verify chain
      </Button>
      {result?.ok && (
        <Alert color="green.9" role="status" title="Chain verified">
          {result.records} records up to seq {result.chainedUpTo} and {result.checkpoints.verified} signed checkpoints are intact
          {result.unchained > 0 ? `; ${result.unchained} newer records are not chained yet and were not covered` : ''}.
        </Alert>
      )}
      {result && !result.ok && (
        <Alert color="red" role="alert" title="The chain is broken">
          {result.problem?.message ?? 'A record or checkpoint does not match.'} {result.firstBrokenSeq ? `First broken at seq ${result.firstBrokenSeq}.` : ''} Export the log
          now and tell your security team: records were changed or removed outside Gatehouse.
        </Alert>
      )}
      {verify.isError && (
        <Alert color="red" role="alert" title="Verification could not run">
          {problemText(verify.error)} Try again in a moment.
        </Alert>
      )}
    </>
  );
}

function RecordDetail({ record, organization, onClose }: { record: AuditRecord | null; organization: string; onClose(): void }) {
  return (
    <Modal opened={record !== null} onClose={onClose} title={record ? `${record.kind} at ${when(record.occurredAt)}` : ''} size="xl">
      {record && (
        <Stack>
          {record.callId && (
            <Anchor component={Link} to={`/o/${organization}/audit/calls/${record.callId}`}>
              Timeline of call {record.callId}
            </Anchor>
          )}
          <Code block>
            {JSON.stringify(record, null, 2)}
          </Code>
        </Stack>
      )}
    </Modal>
  );
}
