import { AreaChart } from '@mantine/charts';
import { Badge, Box, Card, Group, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useId } from 'react';
import { api, BudgetBurnDown, data } from '../api/client';
import { QueryState } from '../components/QueryState';

/** Micro-dollars as US dollars, to the cent or as finely as a price needs. */
export const usd = (micros: number) => (micros / 1_000_000).toLocaleString('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 6 });

function budgetName(budget: BudgetBurnDown): string {
  const period = budget.period === 'day' ? 'Daily' : 'Monthly';
  switch (budget.scope) {
    case 'organization':
      return `${period} budget of the organization`;
    case 'connection':
      return `${period} budget of connection ${budget.connection ?? ''}`;
    case 'member':
      return `${period} budget of ${budget.member ?? ''}`;
    case 'api_key':
      return `${period} budget of key ${budget.apiKey ?? ''}`;
  }
}

const bucketLabel = (budget: BudgetBurnDown, at: string) =>
  budget.bucket === 'hour' ? `${new Date(at).getUTCHours().toString().padStart(2, '0')}:00` : new Date(at).toLocaleDateString(undefined, { timeZone: 'UTC', month: 'short', day: 'numeric' });

/** Each budget's current period as it burned down against its limit, with the reservations of calls under way. */
export function Budgets({ organization }: { organization: string }) {
  const burnDown = useQuery({ queryKey: ['budgets-burn-down', organization], queryFn: () => data(api.GET('/api/v1/budgets/burn-down')), refetchInterval: 15_000 });
  return (
    <Stack component="section" aria-labelledby="budgets">
      <Title order={3} id="budgets">
        Budgets
      </Title>
      <QueryState query={burnDown} what="budgets" />
      {burnDown.data?.budgets.length === 0 && <Text c="dimmed">No budget: calls are never blocked for their cost. Budgets are set in the config file or through the API.</Text>}
      {burnDown.data?.configManaged && (
        <Text size="sm" c="dimmed">
          These budgets are managed by the config file (GATEHOUSE_CONFIG): change them there.
        </Text>
      )}
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        {burnDown.data?.budgets.map((budget) => <BudgetCard key={budget.id} budget={budget} />)}
      </SimpleGrid>
      <Costs organization={organization} />
    </Stack>
  );
}

function BudgetCard({ budget }: { budget: BudgetBurnDown }) {
  const caption = useId();
  const name = budgetName(budget);
  const used = budget.limitMicros > 0 ? Math.round((budget.current.spentMicros / budget.limitMicros) * 100) : 0;
  const points = budget.points.map((point) => ({ at: bucketLabel(budget, point.at), spent: point.spentUsd }));
  return (
    <Card withBorder component="article" aria-label={name}>
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={4}>{name}</Title>
          <Badge color={used >= 100 ? 'red' : used >= 80 ? 'orange' : 'indigo'}>{used}% used</Badge>
        </Group>
        <Text size="sm">
          Period {budget.current.period} (UTC): {usd(budget.current.spentMicros)} of {usd(budget.limitMicros)} spent or reserved.
        </Text>
        <Text size="sm">In flight: {usd(budget.inFlightMicros)} reserved by calls under way.</Text>
        <Box component="figure" m={0} aria-labelledby={caption}>
          <Text component="figcaption" id={caption} size="sm" fw={500}>
            Recorded spend since the start of the period, by {budget.bucket}, against the limit of {usd(budget.limitMicros)}
          </Text>
          <AreaChart
            h={180}
            data={points}
            dataKey="at"
            curveType="step"
            series={[{ name: 'spent', label: 'Spent (USD)', color: 'indigo.8' }]}
            referenceLines={[{ y: budget.limitUsd, label: 'Limit', color: 'red.8' }]}
            yAxisProps={{ domain: [0, Math.max(budget.limitUsd, points.at(-1)?.spent ?? 0)] }}
            valueFormatter={(value) => `$${value}`}
          />
        </Box>
        {budget.configManaged && (
          <Text size="xs" c="dimmed">
            Managed by the config file.
          </Text>
        )}
      </Stack>
    </Card>
  );
}

/** The price per call of each connection or tool: what a call reserves against the budgets it counts toward. */
function Costs({ organization }: { organization: string }) {
  const costs = useQuery({ queryKey: ['costs', organization], queryFn: () => data(api.GET('/api/v1/costs')) });
  return (
    <Stack component="section" aria-labelledby="costs">
      <Title order={3} id="costs">
        Prices
      </Title>
      <QueryState query={costs} what="prices" />
      {costs.data?.costs.length === 0 && <Text c="dimmed">No price: every call is free.</Text>}
      {costs.data?.configManaged && (
        <Text size="sm" c="dimmed">
          Prices are managed by the config file (GATEHOUSE_CONFIG): change them there.
        </Text>
      )}
      {costs.data && costs.data.costs.length > 0 && (
        <Table striped aria-label="Prices per call">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Connection</Table.Th>
              <Table.Th>Tool</Table.Th>
              <Table.Th ta="right">Per call (USD)</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {costs.data.costs.map((cost) => (
              <Table.Tr key={`${cost.connection}/${cost.tool ?? '*'}`}>
                <Table.Td>{cost.connection}</Table.Td>
                <Table.Td>{cost.tool ?? 'Every tool'}</Table.Td>
                <Table.Td ta="right">{usd(cost.perCallMicros)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
