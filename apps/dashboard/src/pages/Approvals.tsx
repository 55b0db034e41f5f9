import { Alert, Badge, Button, Card, Code, Group, Loader, Modal, Stack, Tabs, Text, Textarea, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { queryOptions, useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useParams } from 'react-router';
import { api, Approval, data, problemText } from '../api/client';

/** "in 5 min", "2 h ago": how far a moment is from now. */
function relative(iso: string): string {
  const seconds = Math.round((new Date(iso).getTime() - Date.now()) / 1000);
  const magnitude = Math.abs(seconds);
  const amount = magnitude < 90 ? `${magnitude} s` : magnitude < 5400 ? `${Math.round(magnitude / 60)} min` : magnitude < 129600 ? `${Math.round(magnitude / 3600)} h` : `${Math.round(magnitude / 86400)} d`;
  return seconds >= 0 ? `in ${amount}` : `${amount} ago`;
}

/** The organization's pending requests: shared by the page and the route's loader, which starts it early. */
export function approvalsQuery(organization: string) {
  return queryOptions({
    queryKey: ['approvals', organization, 'pending'],
    queryFn: () => data(api.GET('/api/v1/approvals', { params: { query: { status: 'pending' } } })),
    // The event stream refreshes it at once; this is the safety net if the stream is down.
    refetchInterval: 30_000,
  });
}

/** The approvals inbox: pending requests first (decided live), and the history of decided ones. */
export function ApprovalsPage() {
  const { org = '' } = useParams();
  const [tab, setTab] = useState<string | null>('pending');
  return (
    <Stack>
      <Title order={2}>Approvals</Title>
      <Tabs value={tab} onChange={setTab}>
        <Tabs.List>
          <Tabs.Tab value="pending">Pending</Tabs.Tab>
          <Tabs.Tab value="history">History</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="pending" pt="md">
          {tab === 'pending' && <PendingList organization={org} />}
        </Tabs.Panel>
        <Tabs.Panel value="history" pt="md">
          {tab === 'history' && <ApprovalHistory organization={org} />}
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

/** The pending requests (at most a page: more waiting than that is a backlog to clear, newest first). */
function PendingList({ organization }: { organization: string }) {
  const approvals = useQuery(approvalsQuery(organization));
  if (approvals.isPending) return <Loader aria-label="Loading approval requests" />;
  if (approvals.isError) return <ListError error={approvals.error} retry={() => void approvals.refetch()} />;
  if (approvals.data.length === 0) return <Text c="dimmed">Nothing waits for a decision.</Text>;
  return (
    <Stack>
      {approvals.data.map((approval) => (
        <ApprovalCard key={approval.id} approval={approval} organization={organization} />
      ))}
    </Stack>
  );
}

const HISTORY_PAGE = 50;

/** Decided requests, newest first, a page at a time from the server (the history can hold any number). */
function ApprovalHistory({ organization }: { organization: string }) {
  const history = useInfiniteQuery({
    queryKey: ['approvals', organization, 'decided'],
    queryFn: ({ pageParam }) =>
      data(api.GET('/api/v1/approvals', { params: { query: { status: 'decided', limit: HISTORY_PAGE, ...(pageParam ? { before: pageParam } : {}) } } })),
    initialPageParam: '',
    getNextPageParam: (page) => (page.length === HISTORY_PAGE ? page[page.length - 1]!.id : undefined),
  });
  if (history.isPending) return <Loader aria-label="Loading approval requests" />;
  if (history.isError) return <ListError error={history.error} retry={() => void history.refetch()} />;
  const shown = history.data.pages.flat();
  if (shown.length === 0) return <Text c="dimmed">No decided requests yet.</Text>;
  return (
    <Stack>
      {shown.map((approval) => (
        <ApprovalCard key={approval.id} approval={approval} organization={organization} />
      ))}
      {history.hasNextPage && (
        <Button variant="default" w="fit-content" onClick={() => void history.fetchNextPage()} loading={history.isFetchingNextPage}>
          Older requests
        </Button>
      )}
    </Stack>
  );
}

function ListError({ error, retry }: { error: unknown; retry: () => void }) {
  return (
    <Alert color="red" title="The requests could not be loaded" role="alert">
      {problemText(error)}{' '}
      <Button variant="subtle" size="compact-sm" onClick={retry}>
        Try again
      </Button>
    </Alert>
  );
}

type Cost = NonNullable<Approval['cost']>;
const usd = (amount: number) => amount.toLocaleString('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 6 });
const BUDGET_NAME: Record<Cost['budgets'][number]['scope'], string> = { organization: 'organization', connection: 'connection', member: 'member', api_key: 'API key' };

/** What the call costs, and where each budget it counts toward would stand after it. */
function CostLines({ cost }: { cost: Cost }) {
  if (cost.perCallMicros === 0 && cost.budgets.length === 0) return null;
  return (
    <Stack gap={2} mt="xs" aria-label="Projected cost">
      <Text size="sm">Costs {usd(cost.perCallUsd)} a call.</Text>
      {cost.budgets.map((budget) => (
        <Text key={budget.id} size="sm" c={budget.exceeds ? 'red.8' : undefined}>
          {budget.period === 'day' ? 'Daily' : 'Monthly'} {BUDGET_NAME[budget.scope]} budget{budget.scopeRef ? ` (${budget.scopeRef})` : ''}: {usd(budget.spentUsd)} → {usd(budget.afterUsd)} of {usd(budget.limitUsd)}
          {budget.exceeds ? ' — over the limit: the call would be blocked when it runs' : ''}
        </Text>
      ))}
    </Stack>
  );
}

const STATUS_COLOR: Record<Approval['status'], string> = { pending: 'yellow.4', approved: 'blue.8', executed: 'teal.9', denied: 'red.8', expired: 'gray.7', failed: 'red.8' };

function ApprovalCard({ approval, organization }: { approval: Approval; organization: string }) {
  const queries = useQueryClient();
  const [denying, setDenying] = useState(false);
  const [reason, setReason] = useState('');
  const refresh = () => queries.invalidateQueries({ queryKey: ['approvals', organization] });
  const decide = useMutation({
    mutationFn: (decision: { approved: boolean; reason?: string }) =>
      decision.approved
        ? data(api.POST('/api/v1/approvals/{id}/approve', { params: { path: { id: approval.id } }, body: {} }))
        : data(api.POST('/api/v1/approvals/{id}/deny', { params: { path: { id: approval.id } }, body: decision.reason ? { reason: decision.reason } : {} })),
    onSuccess: (decided, decision) => {
      setDenying(false);
      notifications.show({
        color: decision.approved ? 'green' : 'red',
        message: decision.approved
          ? decided.status === 'pending'
            ? `Approved: ${decided.approvals} of ${decided.requiredApprovals}, waiting for more approvers.`
            : `Approved: ${approval.tool} runs now.`
          : `Denied: ${approval.tool} will not run.`,
      });
    },
    onSettled: () => void refresh(),
  });
  const pending = approval.status === 'pending';
  const titleId = `approval-${approval.id}`;
  return (
    <Card withBorder component="article" aria-labelledby={titleId}>
      <Group justify="space-between" align="flex-start">
        <div>
          <Title order={3} size="h4" id={titleId}>
            {approval.tool}
          </Title>
          <Text size="sm" c="dimmed">
            on {approval.connection} · asked by {approval.requester}
            {approval.via ? ` via ${approval.via}` : ''} · {relative(approval.createdAt)}
          </Text>
        </div>
        <Badge variant="filled" color={STATUS_COLOR[approval.status]}>{approval.status}</Badge>
      </Group>
      <Text size="sm" mt="xs">
        Rule <strong>{approval.rule}</strong> requires approval by {approval.approverRoles.join(' or ')}.
        {approval.toolClasses.length > 0 && <> The tool is classed {approval.toolClasses.join(', ')}.</>}
      </Text>
      {approval.cost && <CostLines cost={approval.cost} />}
      <Text size="sm" fw={500} mt="xs">
        Arguments
      </Text>
      <Code block>{JSON.stringify(approval.arguments, null, 2)}</Code>
      <Group mt="sm" gap="lg">
        <Text size="sm" aria-label="Approvals so far">
          {approval.approvals} of {approval.requiredApprovals} approvals
        </Text>
        {approval.decisions.length > 0 && (
          <Text size="sm" c="dimmed">
            {approval.decisions.map((decision) => `${decision.approver} ${decision.approved ? 'approved' : 'denied'}${decision.reason ? ` (${decision.reason})` : ''}`).join('; ')}
          </Text>
        )}
        {pending && <Text size="sm">Expires {relative(approval.expiresAt)}</Text>}
      </Group>
      {!pending && approval.reason && <Text size="sm" mt="xs">Reason: {approval.reason}</Text>}
      {approval.result !== null && approval.result !== undefined && (
        <>
          <Text size="sm" fw={500} mt="xs">
            Result
          </Text>
          <Code block>{JSON.stringify(approval.result, null, 2)}</Code>
        </>
      )}
      {pending && (
        <Group mt="md">
          <Button onClick={() => decide.mutate({ approved: true })} loading={decide.isPending && decide.variables?.approved} disabled={!approval.viewer.mayDecide} aria-describedby={approval.viewer.reason ? `${titleId}-why` : undefined}>
            Approve
          </Button>
          <Button color="red" variant="light" onClick={() => setDenying(true)} disabled={!approval.viewer.mayDecide} aria-describedby={approval.viewer.reason ? `${titleId}-why` : undefined}>
            Deny
          </Button>
          {approval.viewer.reason && (
            <Text size="sm" c="dimmed" id={`${titleId}-why`}>
              {approval.viewer.reason}
            </Text>
          )}
        </Group>
      )}
      {decide.isError && (
        <Alert color="red" mt="sm" role="alert">
          {problemText(decide.error)}
        </Alert>
      )}
      <Modal opened={denying} onClose={() => setDenying(false)} title={`Deny ${approval.tool}`}>
        <Textarea label="Reason (optional)" description="The requester sees it." value={reason} onChange={(event) => setReason(event.currentTarget.value)} maxLength={1000} autosize minRows={2} />
        <Group mt="md" justify="flex-end">
          <Button variant="default" onClick={() => setDenying(false)}>
            Cancel
          </Button>
          <Button color="red" loading={decide.isPending} onClick={() => decide.mutate({ approved: false, reason: reason.trim() || undefined })}>
            Deny request
          </Button>
        </Group>
      </Modal>
    </Card>
  );
}
