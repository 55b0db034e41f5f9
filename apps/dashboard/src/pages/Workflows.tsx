import { Anchor, Badge, Button, Card, Code, Group, List, Modal, Stack, Table, Text, Title, VisuallyHidden } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, data, Workflow } from '../api/client';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { QueryState } from '../components/QueryState';
import { SchemaForm } from '../components/SchemaForm';
import { Role, sees, useRole } from '../session';
import { when } from './Audit';
import { finished, StatusBadge } from './WorkflowRun';

// A definition's step as the API lists it (WorkflowSpecDto's step; the list's type leaves steps open).
interface Step {
  id: string;
  tool: string;
  when?: { ref: string };
  onError?: 'stop' | 'continue';
}

/** The organization's workflows: their definitions, a run started from a form, and the runs' history. */
export function WorkflowsPage() {
  const { org = '' } = useParams();
  const { role } = useRole(org);
  const workflows = useQuery({ queryKey: ['workflows', org], queryFn: () => data(api.GET('/api/v1/workflows')) });
  return (
    <Stack>
      <Title order={2}>Workflows</Title>
      <Text size="sm" c="dimmed">
        Saved multi-step tool runs. Each step is a call of the person who started the run, through the policy, approvals, budgets and the audit log.
      </Text>
      <QueryState query={workflows} what="workflows" />
      {workflows.data?.length === 0 && <Text c="dimmed">This organization has no workflows yet. Admins create them from the API, an assistant or the config file.</Text>}
      {workflows.data?.map((workflow) => <WorkflowCard key={workflow.name} org={org} role={role} workflow={workflow} />)}
      <RunHistory org={org} role={role} />
    </Stack>
  );
}

function WorkflowCard({ org, role, workflow }: { org: string; role: Role; workflow: Workflow }) {
  const queries = useQueryClient();
  const navigate = useNavigate();
  const [running, setRunning] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const start = useMutation({
    mutationFn: (inputs: Record<string, unknown>) => data(api.POST('/api/v1/workflows/{name}/runs', { params: { path: { name: workflow.name } }, body: { inputs } })),
    onSuccess: (run) => {
      queries.setQueryData(['workflow-run', org, run.id], run);
      void queries.invalidateQueries({ queryKey: ['workflow-runs', org] });
      void navigate(`/o/${org}/workflows/runs/${run.id}`);
    },
  });
  const remove = useMutation({
    mutationFn: () => data(api.DELETE('/api/v1/workflows/{name}', { params: { path: { name: workflow.name } } })),
    onSuccess: () => {
      setDeleting(false);
      notifications.show({ color: 'gray', message: `${workflow.name} is deleted; its runs stay in the history.` });
      void queries.invalidateQueries({ queryKey: ['workflows', org] });
    },
  });
  const steps = workflow.steps as unknown as Step[];
  const titleId = `workflow-${workflow.name}`;
  const mayRun = sees(role, 'tools') && workflow.roles.includes(role);
  return (
    <Card withBorder component="article" aria-labelledby={titleId}>
      <Group justify="space-between" align="flex-start">
        <div>
          <Group gap="xs">
            <Title order={3} size="h4" id={titleId}>
              {workflow.name}
            </Title>
            <Badge variant="outline" color="gray.8">
              version {workflow.version}
            </Badge>
            {workflow.approval && (
              <Badge variant="outline" color="orange.9">
                runs need approval
              </Badge>
            )}
            {workflow.configManaged && (
              <Badge variant="outline" color="blue.9">
                config file
              </Badge>
            )}
          </Group>
          {workflow.description && <Text size="sm">{workflow.description}</Text>}
        </div>
        <Group>
          {mayRun && <Button onClick={() => setRunning(true)}>Run</Button>}
          {sees(role, 'admin') && (
            <Button
              color="red"
              variant="light"
              disabled={workflow.configManaged}
              title={workflow.configManaged ? 'Defined in the config file: change it there' : undefined}
              onClick={() => setDeleting(true)}
            >
              Delete…
            </Button>
          )}
        </Group>
      </Group>
      <Text size="sm" mt="xs">
        Who may run it: {workflow.roles.join(', ')}.{workflow.schedule ? ` Also runs on a schedule (${String(workflow.schedule['cron'])}).` : ''}
      </Text>
      <Text size="sm" fw={500} mt="xs">
        Steps
      </Text>
      <List type="ordered" size="sm" aria-label={`Steps of ${workflow.name}`}>
        {steps.map((step) => (
          <List.Item key={step.id}>
            {step.id}: <Code>{step.tool}</Code>
            {step.when ? ` when ${step.when.ref}` : ''}
            {step.onError === 'continue' ? ' (continues on error)' : ''}
          </List.Item>
        ))}
      </List>
      <Modal opened={running} onClose={() => setRunning(false)} title={`Run ${workflow.name}`} size="lg">
        <SchemaForm
          schema={workflow.inputs}
          label={`Inputs of ${workflow.name}`}
          empty="This workflow takes no inputs."
          submitLabel="Start run"
          pending={start.isPending}
          onSubmit={(inputs) => start.mutate(inputs)}
          error={start.error}
          errorTitle="The run was not started"
          intro={<Text size="sm">The run goes on in the background, as you; its steps show as they happen.</Text>}
        />
      </Modal>
      <ConfirmDialog
        opened={deleting}
        title={`Delete ${workflow.name}?`}
        message="Nobody can start it any more; runs already started go on, and the history keeps them."
        confirmLabel="Delete workflow"
        pending={remove.isPending}
        error={remove.error}
        onConfirm={() => remove.mutate()}
        onClose={() => setDeleting(false)}
      />
    </Card>
  );
}

const RUNS_PAGE = 20;

/** Runs, newest first, a page at a time (`before` the last one shown): all of them for admins and auditors, else one's own. */
function RunHistory({ org, role }: { org: string; role: Role }) {
  const runs = useInfiniteQuery({
    queryKey: ['workflow-runs', org],
    queryFn: ({ pageParam }) => data(api.GET('/api/v1/workflow-runs', { params: { query: { limit: RUNS_PAGE, ...(pageParam ? { before: pageParam } : {}) } } })),
    initialPageParam: '',
    getNextPageParam: (page) => (page.length === RUNS_PAGE ? page[page.length - 1]!.id : undefined),
    // Statuses change on their own while runs go on: read them again until every shown run has finished.
    refetchInterval: (query) => (query.state.data?.pages.flat().every(finished) ? false : 3_000),
  });
  const shown = runs.data?.pages.flat() ?? [];
  return (
    <Stack>
      <Title order={3}>{sees(role, 'records') ? 'Runs' : 'Your runs'}</Title>
      <QueryState query={runs} what="runs" />
      {runs.data && shown.length === 0 && <Text c="dimmed">No runs yet.</Text>}
      {shown.length > 0 && (
        <Table striped aria-label="Workflow runs">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Started</Table.Th>
              <Table.Th>Workflow</Table.Th>
              <Table.Th>Started by</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>
                <VisuallyHidden>Actions</VisuallyHidden>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {shown.map((run) => (
              <Table.Tr key={run.id}>
                <Table.Td>{when(run.createdAt)}</Table.Td>
                <Table.Td>{run.workflow}</Table.Td>
                <Table.Td>{run.startedBy}</Table.Td>
                <Table.Td>
                  <StatusBadge status={run.status} />
                </Table.Td>
                <Table.Td>
                  <Anchor component={Link} to={`/o/${org}/workflows/runs/${run.id}`} aria-label={`Run ${run.id} of ${run.workflow}`}>
                    Steps
                  </Anchor>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {runs.hasNextPage && (
        <Button variant="default" w="fit-content" onClick={() => void runs.fetchNextPage()} loading={runs.isFetchingNextPage}>
          Older runs
        </Button>
      )}
    </Stack>
  );
}
