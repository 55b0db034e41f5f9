import { BarChart } from '@mantine/charts';
import { Box, Button, Group, SegmentedControl, Stack, Table, Tabs, Text, TextInput, Title } from '@mantine/core';
import { useQuery, UseQueryResult } from '@tanstack/react-query';
import { FormEvent, useId, useState } from 'react';
import { useParams, useSearchParams } from 'react-router';
import { api, data, UsageReport } from '../api/client';
import { QueryState } from '../components/QueryState';
import { Budgets, usd } from './UsageBudgets';

const PERIODS = [
  { value: 'month', label: 'This month' },
  { value: '7d', label: 'Last 7 days' },
  { value: '30d', label: 'Last 30 days' },
  { value: 'custom', label: 'Custom' },
] as const;
type Period = (typeof PERIODS)[number]['value'];
const GROUPINGS = [
  { value: 'connection', label: 'Connection' },
  { value: 'tool', label: 'Tool' },
  { value: 'member', label: 'Member' },
] as const;
type Grouping = (typeof GROUPINGS)[number]['value'];

const DAY_MS = 86_400_000;
const day = (at: Date) => at.toISOString().slice(0, 10);

// Days are UTC days, as budgets' periods are. A custom "to" is the last day included; the API's "to" is exclusive.
function rangeOf(period: Period, search: URLSearchParams): { from?: string; to?: string } {
  const today = new Date(`${day(new Date())}T00:00:00Z`).getTime();
  const tomorrow = day(new Date(today + DAY_MS));
  switch (period) {
    case 'month':
      return {}; // the API's default: this calendar month
    case '7d':
      return { from: day(new Date(today - 6 * DAY_MS)), to: tomorrow };
    case '30d':
      return { from: day(new Date(today - 29 * DAY_MS)), to: tomorrow };
    case 'custom': {
      const to = search.get('to');
      const last = to ? new Date(`${to}T00:00:00Z`).getTime() : Number.NaN;
      // An unreadable date goes to the API as it is, which says what is wrong with it.
      return { from: search.get('from') ?? undefined, to: to ? (Number.isNaN(last) ? to : day(new Date(last + DAY_MS))) : undefined };
    }
  }
}

const labelOf = (grouping: Grouping, group: UsageReport['groups'][number]) =>
  grouping === 'tool' ? `${group.connection ?? ''} / ${group.tool ?? ''}` : grouping === 'member' ? (group.member ?? 'No person (service keys)') : (group.connection ?? '');

/** Spend by connection, tool and member over a period kept in the URL, and each budget's burn-down. */
export function UsagePage() {
  const { org = '' } = useParams();
  const [search, setSearch] = useSearchParams();
  const period: Period = PERIODS.find((p) => p.value === search.get('period'))?.value ?? 'month';
  const grouping: Grouping = GROUPINGS.find((g) => g.value === search.get('group'))?.value ?? 'connection';
  const range = rangeOf(period, search);
  const report = useQuery({
    queryKey: ['usage', org, range, grouping],
    queryFn: () => data(api.GET('/api/v1/usage', { params: { query: { ...range, groupBy: grouping } } })),
    // The previous period's figures stay while the next load (marked busy); another grouping's would be mislabelled.
    placeholderData: (previous) => (previous?.groupBy === grouping ? previous : undefined),
  });
  const change = (next: Record<string, string>) => setSearch(Object.fromEntries(Object.entries({ ...Object.fromEntries(search), ...next }).filter(([, value]) => value !== '')));

  return (
    <Stack>
      <Title order={2}>Usage and budgets</Title>
      <Text size="sm" c="dimmed">
        Calls that reached a downstream and what they cost, in UTC days. The period and grouping stay in the address, so a view can be shared or reloaded.
      </Text>
      <Group align="end">
        <SegmentedControl
          aria-label="Period"
          data={PERIODS.map((p) => ({ value: p.value, label: p.label }))}
          value={period}
          onChange={(value) => change(value === 'custom' ? { period: value } : { period: value, from: '', to: '' })}
        />
        {period === 'custom' && <CustomRange key={search.toString()} from={search.get('from') ?? ''} to={search.get('to') ?? ''} onApply={change} />}
      </Group>
      <Tabs value={grouping} onChange={(value) => value && change({ group: value })}>
        <Tabs.List aria-label="Group spend by">
          {GROUPINGS.map((g) => (
            <Tabs.Tab key={g.value} value={g.value}>
              By {g.label.toLowerCase()}
            </Tabs.Tab>
          ))}
        </Tabs.List>
        {GROUPINGS.map((g) => (
          <Tabs.Panel key={g.value} value={g.value} pt="md">
            {g.value === grouping && <UsageGroups report={report} grouping={grouping} />}
          </Tabs.Panel>
        ))}
      </Tabs>
      <Budgets organization={org} />
    </Stack>
  );
}

function CustomRange({ from, to, onApply }: { from: string; to: string; onApply(range: Record<string, string>): void }) {
  const [values, setValues] = useState({ from, to });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onApply({ period: 'custom', from: values.from, to: values.to });
  };
  return (
    <Group component="form" align="end" onSubmit={submit}>
      <TextInput type="date" label="From" value={values.from} onChange={(event) => setValues({ ...values, from: event.currentTarget.value })} />
      <TextInput type="date" label="To (included)" value={values.to} onChange={(event) => setValues({ ...values, to: event.currentTarget.value })} />
      <Button type="submit" variant="default">
        Show
      </Button>
    </Group>
  );
}

function UsageGroups({ report, grouping }: { report: UseQueryResult<UsageReport>; grouping: Grouping }) {
  const caption = useId();
  const noun = GROUPINGS.find((g) => g.value === grouping)!.label.toLowerCase();
  if (report.isError || !report.data) return <QueryState query={report} what="usage" hint="Choose another period." />;
  const { groups } = report.data;
  const rows = groups.map((group) => ({ label: labelOf(grouping, group), calls: group.calls, spend: group.costUsd, costMicros: group.costMicros }));
  const between = `${new Date(report.data.from).toLocaleDateString(undefined, { timeZone: 'UTC' })} – ${new Date(Date.parse(report.data.to) - 1).toLocaleDateString(undefined, { timeZone: 'UTC' })}`;
  return (
    <Stack>
      <Text>
        {report.data.calls} calls, {usd(report.data.costMicros)} from {between} (UTC).
      </Text>
      {rows.length === 0 ? (
        <Text c="dimmed">No calls in this period.</Text>
      ) : (
        <>
          <Box component="figure" m={0} aria-labelledby={caption}>
            <Text component="figcaption" id={caption} size="sm" fw={500}>
              Spend per {noun} in US dollars (the table below lists the same figures)
            </Text>
            <BarChart h={Math.max(160, 40 * rows.length)} data={rows} dataKey="label" orientation="vertical" yAxisProps={{ width: 180 }} series={[{ name: 'spend', label: 'Spend (USD)', color: 'indigo.8' }]} valueFormatter={(value) => `$${value}`} />
          </Box>
          <Table striped aria-label={`Spend per ${noun}`} aria-busy={report.isPlaceholderData}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{GROUPINGS.find((g) => g.value === grouping)!.label}</Table.Th>
                <Table.Th ta="right">Calls</Table.Th>
                <Table.Th ta="right">Spend (USD)</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((row) => (
                <Table.Tr key={row.label}>
                  <Table.Td>{row.label}</Table.Td>
                  <Table.Td ta="right">{row.calls}</Table.Td>
                  <Table.Td ta="right">{usd(row.costMicros)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </>
      )}
    </Stack>
  );
}
