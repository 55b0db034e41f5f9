import { Alert, Button, Code, Group, NumberInput, Select, Stack, Switch, Text, Textarea, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { FormEvent, useMemo, useState } from 'react';
import { useParams, useSearchParams } from 'react-router';
import { api, data, problemText, Tool, ToolResult } from '../api/client';
import { QueryState } from '../components/QueryState';

// The arguments form is generated here from the tool's input schema rather than by a JSON-Schema form library:
// those validate in the browser with Ajv, which compiles code at run time (new Function), and the dashboard's
// Content-Security-Policy forbids that. The server validates the arguments against the same schema anyway.
interface PropertySchema {
  type?: string | string[];
  description?: string;
  enum?: unknown[];
  default?: unknown;
  title?: string;
}

/** Arguments the form cannot turn into JSON: said before any request is made. */
class ArgumentsError extends Error {}

type Field = { name: string; schema: PropertySchema; required: boolean; kind: 'text' | 'number' | 'boolean' | 'choice' | 'json' };

function fieldsOf(tool: Tool): Field[] {
  const schema = tool.inputSchema as { properties?: Record<string, PropertySchema>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => {
    const type = Array.isArray(property.type) ? property.type.find((candidate) => candidate !== 'null') : property.type;
    const kind: Field['kind'] = property.enum
      ? 'choice'
      : type === 'string'
        ? 'text'
        : type === 'number' || type === 'integer'
          ? 'number'
          : type === 'boolean'
            ? 'boolean'
            : 'json';
    return { name, schema: property, required: schema.required?.includes(name) ?? false, kind };
  });
}

/** Values as typed into the form → the tool's arguments; a field left empty is left out. */
function argumentsOf(fields: Field[], values: Record<string, unknown>): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const field of fields) {
    const value = values[field.name];
    if (value === undefined || value === '') continue;
    if (field.kind === 'json') {
      try {
        args[field.name] = JSON.parse(String(value));
      } catch {
        throw new ArgumentsError(`${field.name} is not valid JSON. Write it as JSON, e.g. {"key": "value"} or ["a", "b"].`);
      }
    } else if (field.kind === 'choice') {
      args[field.name] = field.schema.enum?.find((option) => String(option) === value) ?? value;
    } else args[field.name] = value;
  }
  return args;
}

/** Try a tool: call one of your tools from a form, as yourself, through the whole pipeline. */
export function TryToolPage() {
  const { org = '' } = useParams();
  const [search, setSearch] = useSearchParams();
  const tools = useQuery({ queryKey: ['tools', org], queryFn: () => data(api.GET('/api/v1/tools')) });
  const name = search.get('tool');
  const tool = tools.data?.find((candidate) => candidate.name === name) ?? null;
  return (
    <Stack>
      <Title order={2}>Try a tool</Title>
      <Text size="sm" c="dimmed">
        The call runs as you, through the organization&apos;s policy, approvals, budgets and the audit log, exactly as from an assistant.
      </Text>
      <QueryState query={tools} what="tools" />
      {tools.data && (
        <Select
          label="Tool"
          placeholder={tools.data.length === 0 ? 'No tool is available to you' : 'Choose a tool'}
          searchable
          data={tools.data.map((candidate) => candidate.name)}
          value={tool?.name ?? null}
          onChange={(value) => setSearch(value ? { tool: value } : {}, { replace: true })}
          maw={480}
        />
      )}
      {tool && <ToolForm key={tool.name} tool={tool} />}
    </Stack>
  );
}

function ToolForm({ tool }: { tool: Tool }) {
  const fields = useMemo(() => fieldsOf(tool), [tool]);
  const [values, setValues] = useState<Record<string, unknown>>(() =>
    Object.fromEntries(fields.filter((field) => field.schema.default !== undefined).map((field) => [field.name, field.kind === 'json' ? JSON.stringify(field.schema.default) : field.schema.default])),
  );
  const run = useMutation({
    mutationFn: async () => data(api.POST('/api/v1/tools/call', { body: { name: tool.name, arguments: argumentsOf(fields, values) } })),
  });
  const set = (name: string) => (value: unknown) => setValues((current) => ({ ...current, [name]: value }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    run.mutate();
  };
  return (
    <form onSubmit={submit} aria-label={`Arguments of ${tool.name}`}>
      <Stack maw={640}>
        {tool.description && <Text size="sm">{tool.description}</Text>}
        {fields.length === 0 && <Text size="sm" c="dimmed">This tool takes no arguments.</Text>}
        {fields.map((field) => {
          const common = { label: field.schema.title ?? field.name, description: field.schema.description, required: field.required };
          switch (field.kind) {
            case 'text':
              return <TextInput key={field.name} {...common} value={String(values[field.name] ?? '')} onChange={(event) => set(field.name)(event.currentTarget.value)} />;
            case 'number':
              return <NumberInput key={field.name} {...common} value={values[field.name] as number | undefined} onChange={(value) => set(field.name)(value === '' ? undefined : value)} />;
            case 'boolean':
              return <Switch key={field.name} label={common.label} description={common.description} checked={values[field.name] === true} onChange={(event) => set(field.name)(event.currentTarget.checked)} />;
            case 'choice':
              return (
                <Select
                  key={field.name}
                  {...common}
                  data={(field.schema.enum ?? []).map(String)}
                  value={values[field.name] === undefined ? null : String(values[field.name])}
                  onChange={(value) => set(field.name)(value ?? undefined)}
                />
              );
            case 'json':
              return (
                <Textarea
                  key={field.name}
                  {...common}
                  description={`${field.schema.description ?? ''} (JSON)`.trim()}
                  autosize
                  minRows={2}
                  styles={{ input: { fontFamily: 'monospace' } }}
                  value={String(values[field.name] ?? '')}
                  onChange={(event) => set(field.name)(event.currentTarget.value)}
                />
              );
          }
        })}
        <Group>
          <Button type="submit" loading={run.isPending}>
            Run
          </Button>
        </Group>
        {run.isError && (
          <Alert color="red" role="alert" title="The call was not made">
            {run.error instanceof ArgumentsError ? run.error.message : problemText(run.error)}
          </Alert>
        )}
        {run.data && <Result result={run.data} />}
      </Stack>
    </form>
  );
}

function Result({ result }: { result: ToolResult }) {
  const blocks = result.content.map((block, index) => (
    <Code key={index} block>
      {block['type'] === 'text' && typeof block['text'] === 'string' ? block['text'] : JSON.stringify(block, null, 2)}
    </Code>
  ));
  return (
    <section aria-label="Result">
      {result.isError ? (
        <Alert color="red" role="alert" title="The call returned an error (a refusal, a hold for approval, or the tool's own)">
          <Stack gap="xs">{blocks}</Stack>
        </Alert>
      ) : (
        <Stack gap="xs">
          <Title order={3} size="h4">
            Result
          </Title>
          {blocks}
          {result.structuredContent && <Code block>{JSON.stringify(result.structuredContent, null, 2)}</Code>}
        </Stack>
      )}
    </section>
  );
}
