import { Anchor, Code, Stack, Text, Timeline, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api, CallTimeline, data } from '../api/client';
import { when } from './Audit';
import { QueryState } from '../components/QueryState';

const STEP_TITLES: Record<CallTimeline['steps'][number]['step'], string> = {
  request: 'Request',
  policy: 'Policy decision',
  approval: 'Approval',
  budget: 'Budget',
  outcome: 'Downstream outcome',
};

/** One tools/call from its records: request → policy decision → approval → budget → downstream outcome. */
export function AuditCallPage() {
  const { org = '', callId = '' } = useParams();
  const timeline = useQuery({ queryKey: ['audit-call', org, callId], queryFn: () => data(api.GET('/api/v1/audit/calls/{callId}', { params: { path: { callId } } })) });
  return (
    <Stack>
      <Anchor component={Link} to={`/o/${org}/audit?callId=${encodeURIComponent(callId)}`}>
        Back to the audit log (this call&apos;s records)
      </Anchor>
      <Title order={2}>Call {callId}</Title>
      <QueryState query={timeline} what="call" hint="Check the call id, or find the call from the audit log." />
      {timeline.data && (
        <>
          {!timeline.data.complete && <Text c="dimmed">No outcome recorded yet: the call is still running, or was interrupted and awaits reconciliation.</Text>}
          <Timeline active={timeline.data.steps.length - 1} bulletSize={20} aria-label="Steps of the call">
            {timeline.data.steps.map((step) => (
              <Timeline.Item key={`${step.step}-${step.eventId}`} title={`${STEP_TITLES[step.step]}${step.outcome ? `: ${step.outcome}` : ''}`}>
                <Text size="xs" c="dimmed">
                  {step.at ? when(step.at) : 'recorded with the outcome'}
                </Text>
                {Object.keys(step.detail).length > 0 && <Code block>{JSON.stringify(step.detail, null, 2)}</Code>}
              </Timeline.Item>
            ))}
          </Timeline>
          <Title order={3}>Records</Title>
          <Code block>{JSON.stringify(timeline.data.records, null, 2)}</Code>
        </>
      )}
    </Stack>
  );
}
