import { Alert, Anchor, Badge, Button, Code, Group, Stack, Text, Timeline, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { api, data, WorkflowRun } from '../api/client';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { QueryState } from '../components/QueryState';
import { sees, useRole } from '../session';
import { when } from './Audit';

type RunStatus = WorkflowRun['status'];
type StepStatus = WorkflowRun['steps'][number]['status'];

// Filled badges keep AA contrast with their automatic text colour (teal.9, not green.9, for success).
const STATUS_COLOR: Record<RunStatus | StepStatus, string> = {
  queued: 'gray.7',
  waiting_approval: 'yellow.4',
  running: 'blue.8',
  succeeded: 'teal.9',
  failed: 'red.8',
  skipped: 'gray.7',
  interrupted: 'orange.9',
  cancelled: 'gray.7',
};

export function StatusBadge({ status }: { status: RunStatus | StepStatus }) {
  return (
    <Badge variant="filled" color={STATUS_COLOR[status]}>
      {status.replace('_', ' ')}
    </Badge>
  );
}

export const finished = (run: WorkflowRun) => run.status === 'succeeded' || run.status === 'failed' || run.status === 'cancelled';

// A step's result as stored (the text later steps read, and the structured content), or whatever else it is.
const summaryOf = (result: unknown): string => {
  if (result && typeof result === 'object' && 'text' in result && typeof result.text === 'string') {
    const structured = 'structured' in result && result.structured !== undefined ? `\n${JSON.stringify(result.structured, null, 2)}` : '';
    return `${result.text.length > 1000 ? `${result.text.slice(0, 1000)}…` : result.text}${structured}`;
  }
  return JSON.stringify(result, null, 2);
};

/** One run of a workflow: its steps as they happen (read again every second until it finishes), and its cancellation. */
export function WorkflowRunPage() {
  const { org = '', runId = '' } = useParams();
  const { role } = useRole(org);
  const queries = useQueryClient();
  const [cancelling, setCancelling] = useState(false);
  const run = useQuery({
    queryKey: ['workflow-run', org, runId],
    queryFn: () => data(api.GET('/api/v1/workflow-runs/{id}', { params: { path: { id: runId } } })),
    refetchInterval: (query) => (query.state.data && finished(query.state.data) ? false : 1_000),
  });
  const cancel = useMutation({
    mutationFn: () => data(api.POST('/api/v1/workflow-runs/{id}/cancel', { params: { path: { id: runId } } })),
    onSuccess: (after) => {
      setCancelling(false);
      queries.setQueryData(['workflow-run', org, runId], after);
      void queries.invalidateQueries({ queryKey: ['workflow-runs', org] });
      notifications.show({ color: 'gray', message: after.status === 'cancelled' ? 'The run is cancelled.' : 'The run stops before its next step.' });
    },
  });
  const current = run.data;
  return (
    <Stack>
      <Anchor component={Link} to={`/o/${org}/workflows`}>
        Back to the workflows
      </Anchor>
      <Title order={2}>Run of {current?.workflow ?? 'a workflow'}</Title>
      <QueryState query={run} what="run" hint="Check the run's address, or open it from the workflows' run history." />
      {current && (
        <>
          <Group>
            <Group role="status" aria-label="Status of the run" gap="xs">
              <StatusBadge status={current.status} />
            </Group>
            <Text size="sm">
              Version {current.version}, started by {current.startedBy} from {current.trigger} {when(current.createdAt)}
              {current.finishedAt ? `, finished ${when(current.finishedAt)}` : ''}
            </Text>
            {!finished(current) && sees(role, 'tools') && (
              <Button color="red" variant="light" onClick={() => setCancelling(true)}>
                Cancel run…
              </Button>
            )}
          </Group>
          {current.approvalRequestId && (
            <Alert color="yellow" title="Waiting for approval">
              Approval request {current.approvalRequestId} waits for a decision in the{' '}
              <Anchor component={Link} to={`/o/${org}/approvals`}>
                approvals inbox
              </Anchor>
              .
            </Alert>
          )}
          {current.error && (
            <Alert color="red" title={current.status === 'cancelled' ? 'Cancelled' : 'The run failed'}>
              {current.error}
            </Alert>
          )}
          <Text size="sm" fw={500}>
            Inputs
          </Text>
          <Code block>{JSON.stringify(current.inputs, null, 2)}</Code>
          <Title order={3}>Steps</Title>
          {current.steps.length === 0 ? (
            <Text c="dimmed">No step has started yet.</Text>
          ) : (
            <Timeline active={current.steps.length - 1} bulletSize={20} aria-label="Steps of the run">
              {current.steps.map((step) => (
                <Timeline.Item
                  key={step.index}
                  role="group"
                  aria-label={`Step ${step.id}`}
                  title={
                    <Group gap="xs">
                      <Text fw={500}>
                        {step.index + 1}. {step.id}
                      </Text>
                      <StatusBadge status={step.status} />
                    </Group>
                  }
                >
                  <Stack gap={4}>
                    <Text size="sm">
                      Tool <Code>{step.tool}</Code>, started {when(step.startedAt)}
                      {step.durationMs !== null ? `, took ${step.durationMs} ms` : ''}
                    </Text>
                    <Text size="xs" c="dimmed">
                      Arguments (as the audit log keeps them)
                    </Text>
                    <Code block>{JSON.stringify(step.arguments, null, 2)}</Code>
                    {step.error ? (
                      <Text size="sm" c="red.8">
                        {step.error}
                      </Text>
                    ) : (
                      step.result !== null && step.result !== undefined && <Code block>{summaryOf(step.result)}</Code>
                    )}
                    {step.approvalRequestId && step.status === 'waiting_approval' && (
                      <Anchor component={Link} to={`/o/${org}/approvals`} size="sm">
                        Approval request {step.approvalRequestId} in the approvals inbox
                      </Anchor>
                    )}
                    {step.callId && sees(role, 'records') && (
                      <Anchor component={Link} to={`/o/${org}/audit/calls/${step.callId}`} size="sm">
                        Timeline of the call in the audit log
                      </Anchor>
                    )}
                  </Stack>
                </Timeline.Item>
              ))}
            </Timeline>
          )}
          <ConfirmDialog
            opened={cancelling}
            title="Cancel this run?"
            message="A run waiting for its turn or an approval stops at once; a step being called finishes, and no further step starts."
            confirmLabel="Cancel run"
            pending={cancel.isPending}
            error={cancel.error}
            onConfirm={() => cancel.mutate()}
            onClose={() => setCancelling(false)}
          />
        </>
      )}
    </Stack>
  );
}
