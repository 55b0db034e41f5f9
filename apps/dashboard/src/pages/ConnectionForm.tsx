import { Alert, Button, Group, NumberInput, SegmentedControl, Stack, Text, Textarea, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { FormEvent, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, Connection, ConnectionSpec, data, Problem, problemText } from '../api/client';
import { ConfigFileNotice } from '../components/ConfigFileNotice';
import { ConnectionLoading, TestOutcome } from './ConnectionDetail';

type Transport = ConnectionSpec['transport'];

interface FormState {
  name: string;
  transport: Transport;
  url: string;
  command: string;
  args: string;
  /** One `Name: value` a line (headers) or `NAME=value` (env). */
  headers: string;
  env: string;
  callTimeoutMs: number | '';
  maxConcurrency: number | '';
}

// Stored values are never sent to the browser: an edit lists the names, and the person enters the values again.
const namesOnly = (values: Record<string, string>, separator: string) =>
  Object.keys(values)
    .map((name) => `${name}${separator}`)
    .join('\n');

function initialState(existing: Connection | undefined): FormState {
  return {
    name: existing?.name ?? '',
    transport: existing?.transport ?? 'http',
    url: existing?.url ?? '',
    command: existing?.command ?? '',
    args: existing?.args.join('\n') ?? '',
    headers: existing ? namesOnly(existing.headers, ': ') : '',
    env: existing ? namesOnly(existing.env, '=') : '',
    callTimeoutMs: existing?.callTimeoutMs ?? '',
    maxConcurrency: existing?.maxConcurrency ?? '',
  };
}

/** `Name<separator>value` lines as a map, or the sentence saying which line lacks its value. */
function parsePairs(text: string, separator: string, what: string): Record<string, string> | string {
  const pairs: Record<string, string> = {};
  for (const line of text.split('\n').filter((candidate) => candidate.trim())) {
    const at = line.indexOf(separator);
    const name = (at < 0 ? line : line.slice(0, at)).trim();
    const value = at < 0 ? '' : line.slice(at + separator.length).trim();
    if (!value) return `Enter the value of ${what} ${name} (as "${name}${separator.trim()} value"): stored values are never shown, so saving needs them again.`;
    pairs[name] = value;
  }
  return pairs;
}

// The body the API takes; fields left out get the API's defaults, or, on an edit, the connection's current values.
function specOf(form: FormState, existing: Connection | undefined): { spec?: ConnectionSpec; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const remote = form.transport !== 'stdio';
  const headers = remote ? parsePairs(form.headers, ':', 'header') : {};
  const env = remote ? {} : parsePairs(form.env, '=', 'variable');
  if (typeof headers === 'string') errors['headers'] = headers;
  if (typeof env === 'string') errors['env'] = env;
  if (Object.keys(errors).length) return { errors };
  const limits = existing
    ? {
        connectTimeoutMs: existing.connectTimeoutMs,
        callDeadlineMs: existing.callDeadlineMs,
        maxReplyBytes: existing.maxReplyBytes,
        maxSseEventBytes: existing.maxSseEventBytes,
        maxStderrLineBytes: existing.maxStderrLineBytes,
        enabled: existing.enabled,
        ...(existing.cwd ? { cwd: existing.cwd } : {}),
      }
    : {};
  const spec = {
    ...limits,
    name: form.name.trim(),
    transport: form.transport,
    ...(remote ? { url: form.url.trim() } : { command: form.command.trim(), args: form.args.split('\n').filter((arg) => arg.trim()) }),
    headers: headers as Record<string, string>,
    env: env as Record<string, string>,
    ...(form.callTimeoutMs === '' ? {} : { callTimeoutMs: form.callTimeoutMs }),
    ...(form.maxConcurrency === '' ? {} : { maxConcurrency: form.maxConcurrency }),
  };
  // The OpenAPI document marks fields with defaults as required; the API fills in those left out.
  return { spec: spec as ConnectionSpec, errors };
}

/** The API's field errors (`url`, `headers.X`) by the form field they belong to. */
function fieldErrors(error: unknown): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of (error as Problem | null)?.errors ?? []) {
    const field = issue.path.split('.')[0]!;
    errors[field] = errors[field] ? `${errors[field]}; ${issue.message}` : issue.message;
  }
  return errors;
}

export function NewConnectionPage() {
  return <ConnectionForm existing={undefined} />;
}

export function EditConnectionPage() {
  const { org = '', id = '' } = useParams();
  const connection = useQuery({ queryKey: ['connections', org, id], queryFn: () => data(api.GET('/api/v1/connections/{id}', { params: { path: { id } } })) });
  if (!connection.data) return <ConnectionLoading query={connection} org={org} />;
  if (connection.data.configManaged)
    return (
      <Stack>
        <Title order={2}>Edit {connection.data.name}</Title>
        <ConfigFileNotice connection={connection.data} />
        <Text size="sm">
          <Link to={`/o/${org}/connections/${id}`}>Back to {connection.data.name}</Link>
        </Text>
      </Stack>
    );
  return <ConnectionForm existing={connection.data} />;
}

/** Create or edit a connection; Test tries the form as it is, admitted as saving would be, and stores nothing. */
function ConnectionForm({ existing }: { existing: Connection | undefined }) {
  const { org = '' } = useParams();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const [form, setForm] = useState<FormState>(() => initialState(existing));
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => setForm((previous) => ({ ...previous, [key]: value }));

  const test = useMutation({ mutationFn: (spec: ConnectionSpec) => data(api.POST('/api/v1/connections/test', { body: spec })) });
  const save = useMutation({
    mutationFn: (spec: ConnectionSpec) =>
      existing ? data(api.PUT('/api/v1/connections/{id}', { params: { path: { id: existing.id } }, body: spec })) : data(api.POST('/api/v1/connections', { body: spec })),
    onSuccess: (saved) => {
      notifications.show({ color: 'green', message: `${saved.name} is saved.` });
      void queries.invalidateQueries({ queryKey: ['connections', org] });
      void navigate(`/o/${org}/connections/${saved.id}`);
    },
  });
  const failure = save.error ?? test.error;
  const errors = { ...fieldErrors(failure), ...localErrors };

  const run = (action: typeof save | typeof test) => {
    save.reset();
    test.reset();
    const { spec, errors: problems } = specOf(form, existing);
    setLocalErrors(problems);
    if (spec) action.mutate(spec);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    run(save);
  };
  const remote = form.transport !== 'stdio';

  return (
    <Stack maw={720}>
      <Title order={2}>{existing ? `Edit ${existing.name}` : 'New connection'}</Title>
      <form onSubmit={submit} noValidate>
        <Stack>
          <TextInput label="Name" description="Lower-case letters, digits and -; tools are exposed as name_tool" required value={form.name} error={errors['name']} onChange={(event) => set('name', event.currentTarget.value)} />
          <div>
            <Text size="sm" fw={500} id="transport-label">
              Transport
            </Text>
            <SegmentedControl
              aria-labelledby="transport-label"
              value={form.transport}
              onChange={(value) => set('transport', value as Transport)}
              data={[
                { value: 'http', label: 'Streamable HTTP' },
                { value: 'sse', label: 'SSE (legacy)' },
                { value: 'stdio', label: 'stdio command' },
              ]}
            />
          </div>
          {remote ? (
            <>
              <TextInput label="URL" description="The server's http:// or https:// address; the operator's egress policy decides which hosts may be reached" required value={form.url} error={errors['url']} onChange={(event) => set('url', event.currentTarget.value)} />
              <Textarea
                label="Headers"
                description={`One "Name: value" a line, e.g. Authorization: Bearer …; stored encrypted and never shown again${existing ? ' (enter the values again to save)' : ''}`}
                autosize
                minRows={2}
                value={form.headers}
                error={errors['headers']}
                onChange={(event) => set('headers', event.currentTarget.value)}
              />
            </>
          ) : (
            <>
              <TextInput label="Command" description="Only commands the operator allows (platform.stdio.commands) may run" required value={form.command} error={errors['command']} onChange={(event) => set('command', event.currentTarget.value)} />
              <Textarea label="Arguments" description="One a line" autosize minRows={2} value={form.args} error={errors['args']} onChange={(event) => set('args', event.currentTarget.value)} />
              <Textarea
                label="Environment"
                description={`One NAME=value a line; stored encrypted and never shown again${existing ? ' (enter the values again to save)' : ''}`}
                autosize
                minRows={2}
                value={form.env}
                error={errors['env']}
                onChange={(event) => set('env', event.currentTarget.value)}
              />
            </>
          )}
          <Group grow>
            <NumberInput label="Call timeout (ms)" placeholder="60000" min={100} value={form.callTimeoutMs} error={errors['callTimeoutMs']} onChange={(value) => set('callTimeoutMs', typeof value === 'number' ? value : '')} />
            <NumberInput label="Concurrent calls" placeholder="32" min={1} value={form.maxConcurrency} error={errors['maxConcurrency']} onChange={(value) => set('maxConcurrency', typeof value === 'number' ? value : '')} />
          </Group>
          {failure ? (
            <Alert color="red" role="alert" title={save.error ? 'The connection was not saved' : 'The test could not run'}>
              {problemText(failure)}
            </Alert>
          ) : null}
          {test.data && <TestOutcome result={test.data} />}
          <Group>
            <Button type="submit" loading={save.isPending}>
              Save
            </Button>
            <Button variant="default" onClick={() => run(test)} loading={test.isPending}>
              Test before saving
            </Button>
            <Button variant="subtle" component={Link} to={existing ? `/o/${org}/connections/${existing.id}` : `/o/${org}/connections`}>
              Cancel
            </Button>
          </Group>
        </Stack>
      </form>
    </Stack>
  );
}
