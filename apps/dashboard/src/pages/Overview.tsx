import { BarChart } from '@mantine/charts';
import { Anchor, Card, Group, Progress, SimpleGrid, Stack, Table, Text, Title, VisuallyHidden } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { Overview } from '../api/client';
import { QueryState } from '../components/QueryState';
import { overviewQuery } from './overviewQuery';

// Known outcomes keep their colour from one load to the next; others take gray.
const OUTCOME_COLOR: Record<string, string> = {
  ok: 'teal.6',
  tool_error: 'orange.5',
  error: 'red.6',
  timeout: 'red.4',
  denied: 'grape.6',
  approval_required: 'yellow.5',
  budget_blocked: 'pink.6',
  throttled: 'blue.4',
  invalid: 'cyan.6',
};

const hourLabel = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
const usd = (amount: number) => amount.toLocaleString([], { style: 'currency', currency: 'USD' });
const ms = (value: number | null) => (value === null ? '—' : `${value.toLocaleString()} ms`);

/** The landing page of those who read the record: each tile says one thing and links to the page about it. */
export function OverviewPage() {
  const { org = '' } = useParams();
  const overview = useQuery(overviewQuery(org));
  const to = (page: string) => `/o/${org}/${page}`;
  return (
    <Stack>
      <Title order={2}>Overview</Title>
      <QueryState query={overview} what="overview" />
      {overview.data && (
        <>
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 4 }}>
            <Tile title="Calls in the last 24 h" to={to('audit')} value={overview.data.calls.total.toLocaleString()}>
              {outcomeLine(overview.data.calls.outcomes) || 'No tool call yet.'}
            </Tile>
            <Tile title="Latency" to={to('audit')} value={`p50 ${ms(overview.data.calls.latency.p50Ms)}`}>
              p95 {ms(overview.data.calls.latency.p95Ms)}, over calls that reached their server
            </Tile>
            {overview.data.approvals && (
              <Tile title="Pending approvals" to={to('approvals')} value={String(overview.data.approvals.pending)}>
                {overview.data.approvals.pending === 0 ? 'Nothing waits for a decision.' : 'Waiting for a decision.'}
              </Tile>
            )}
            {overview.data.connections && (
              <Tile title="Tools held back" to={to('tool-changes')} value={String(overview.data.connections.heldBackTools)}>
                {overview.data.connections.heldBackTools === 0 ? 'No tool change awaits review.' : 'Changed or new tools awaiting review.'}
              </Tile>
            )}
            {overview.data.connections && (
              <Tile title="Unhealthy connections" to={to('connections')} value={`${overview.data.connections.unhealthy.length} of ${overview.data.connections.total}`}>
                {overview.data.connections.unhealthy.map((connection) => `${connection.name} (${connection.status.replace('_', ' ')})`).join(', ') || 'Every connection is healthy.'}
              </Tile>
            )}
            <Tile title="SIEM delivery" to={to('audit')} value={`${overview.data.sinks.deadLetter} dead letter`}>
              {overview.data.sinks.total === 0 ? 'No SIEM sink.' : `${overview.data.sinks.total} sinks; the furthest behind has ${overview.data.sinks.maxLag.toLocaleString()} records to send.`}
            </Tile>
            <Tile title="Audit chain" to={to('audit')} value={chainValue(overview.data.chain)}>
              {chainDetail(overview.data.chain)}
            </Tile>
            {overview.data.budgets && <BudgetsTile budgets={overview.data.budgets} to={to('usage')} />}
          </SimpleGrid>
          <CallsChart calls={overview.data.calls} />
        </>
      )}
    </Stack>
  );
}

function Tile({ title, to, value, children }: { title: string; to: string; value: string; children: ReactNode }) {
  return (
    <Card withBorder component="section" aria-label={title}>
      <Anchor component={Link} to={to} fw={600}>
        {title}
      </Anchor>
      <Text size="xl" fw={700} mt="xs">
        {value}
      </Text>
      <Text size="sm" c="dimmed">
        {children}
      </Text>
    </Card>
  );
}

function BudgetsTile({ budgets, to }: { budgets: NonNullable<Overview['budgets']>; to: string }) {
  return (
    <Card withBorder component="section" aria-label="Spend this period">
      <Anchor component={Link} to={to} fw={600}>
        Spend this period
      </Anchor>
      {budgets.length === 0 && (
        <Text size="sm" c="dimmed" mt="xs">
          No budget set.
        </Text>
      )}
      <Stack gap="xs" mt="xs">
        {budgets.map((budget) => {
          const name = `${budget.period === 'day' ? 'Daily' : 'Monthly'} ${budget.scope.replace('_', ' ')} budget${budget.connection ?? budget.member ?? budget.apiKey ? ` for ${budget.connection ?? budget.member ?? budget.apiKey}` : ''}`;
          const used = budget.limitUsd > 0 ? Math.min(100, (budget.current.spentUsd / budget.limitUsd) * 100) : 100;
          return (
            <div key={budget.id}>
              <Group justify="space-between" gap="xs">
                <Text size="sm">{name}</Text>
                <Text size="sm">
                  {usd(budget.current.spentUsd)} of {usd(budget.limitUsd)}
                </Text>
              </Group>
              <Progress value={used} color={used >= 100 ? 'red.8' : used >= 80 ? 'orange.8' : 'teal.8'} aria-label={`${name}: ${Math.round(used)}% spent`} />
            </div>
          );
        })}
      </Stack>
    </Card>
  );
}

// A bar chart for the eye and the same numbers as a table for screen readers (the chart itself is hidden from them).
function CallsChart({ calls }: { calls: Overview['calls'] }) {
  const outcomes = Object.keys(calls.outcomes).sort();
  const rows = calls.hours.map((hour) => ({ hour: hourLabel(hour.hour), ...hour.outcomes }));
  return (
    <Card withBorder component="section" aria-labelledby="calls-chart-title">
      <Title order={3} size="h4" id="calls-chart-title">
        Calls per hour by outcome, last 24 hours
      </Title>
      {calls.total === 0 ? (
        <Text size="sm" c="dimmed">
          No tool call in the last 24 hours.
        </Text>
      ) : (
        <>
          <div aria-hidden="true">
            <BarChart
              h={240}
              data={rows}
              dataKey="hour"
              type="stacked"
              withLegend
              // Out of the tab order: the table below carries the same numbers for keyboards and screen readers.
              barChartProps={{ accessibilityLayer: false }}
              series={outcomes.map((outcome) => ({ name: outcome, color: OUTCOME_COLOR[outcome] ?? 'gray.6' }))}
            />
          </div>
          <VisuallyHidden>
            <Table aria-label="Calls per hour by outcome">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Hour</Table.Th>
                  {outcomes.map((outcome) => (
                    <Table.Th key={outcome}>{outcome}</Table.Th>
                  ))}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {calls.hours
                  .filter((hour) => hour.total > 0)
                  .map((hour) => (
                    <Table.Tr key={hour.hour}>
                      <Table.Td>{hourLabel(hour.hour)}</Table.Td>
                      {outcomes.map((outcome) => (
                        <Table.Td key={outcome}>{hour.outcomes[outcome] ?? 0}</Table.Td>
                      ))}
                    </Table.Tr>
                  ))}
              </Table.Tbody>
            </Table>
          </VisuallyHidden>
        </>
      )}
    </Card>
  );
}

const outcomeLine = (outcomes: Record<string, number>) =>
  Object.entries(outcomes)
    .sort(([a, countA], [b, countB]) => countB - countA || a.localeCompare(b))
    .map(([outcome, count]) => `${count} ${outcome.replace('_', ' ')}`)
    .join(', ');

const chainValue = (chain: Overview['chain']) => (!chain.checkpoint ? 'No checkpoint yet' : chain.checkpoint.valid ? 'Checkpoint verified' : 'Checkpoint fails');

function chainDetail(chain: Overview['chain']): string {
  const backlog = `${chain.chainedUpTo.toLocaleString()} records chained, ${chain.unchained.toLocaleString()} waiting.`;
  if (!chain.checkpoint) return backlog;
  return `Last checkpoint at record ${chain.checkpoint.seq.toLocaleString()}, ${new Date(chain.checkpoint.at).toLocaleString()}. ${backlog}`;
}
