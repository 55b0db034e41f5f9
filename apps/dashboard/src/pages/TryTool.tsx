import { Alert, Code, Select, Stack, Text, Title } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useParams, useSearchParams } from 'react-router';
import { api, data, Tool, ToolResult } from '../api/client';
import { QueryState } from '../components/QueryState';
import { SchemaForm } from '../components/SchemaForm';

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
  const run = useMutation({ mutationFn: async (args: Record<string, unknown>) => data(api.POST('/api/v1/tools/call', { body: { name: tool.name, arguments: args } })) });
  return (
    <SchemaForm
      schema={tool.inputSchema}
      label={`Arguments of ${tool.name}`}
      empty="This tool takes no arguments."
      submitLabel="Run"
      pending={run.isPending}
      onSubmit={(args) => run.mutate(args)}
      error={run.error}
      errorTitle="The call was not made"
      intro={tool.description && <Text size="sm">{tool.description}</Text>}
    >
      {run.data && <Result result={run.data} />}
    </SchemaForm>
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
