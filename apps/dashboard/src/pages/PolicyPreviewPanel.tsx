import { Alert, Badge, Button, Group, Select, Stack, Table, Text, Title } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, data, PolicyDraft, PolicyPreview, problemText } from '../api/client';
import { ProblemList } from '../components/ProblemList';

type Tool = PolicyPreview['tools'][number];

function shown(tool: Tool): { label: string; color: string } {
  if (!tool.listed) return { label: 'Hidden', color: 'red' };
  if (tool.approval) return { label: 'Needs approval', color: 'yellow' };
  return { label: 'Listed', color: 'green' };
}

function why(tool: Tool): string {
  if (tool.hiddenBy) return `${tool.hiddenBy.name}${tool.hiddenBy.description ? `: ${tool.hiddenBy.description}` : ''}`;
  if (tool.approval) return `${tool.approval.approvals} × ${tool.approval.approverRoles.join(' or ')}`;
  return '';
}

/** The tools/list a member or key would get under the draft (or the saved policy), computed by the gateway, stored nowhere. */
export function PolicyPreviewPanel({ org, draft }: { org: string; draft: PolicyDraft | null }) {
  const [subject, setSubject] = useState<string | null>(null);
  const members = useQuery({ queryKey: ['members', org], queryFn: () => data(api.GET('/api/v1/members')) });
  const keys = useQuery({ queryKey: ['api-keys', org], queryFn: () => data(api.GET('/api/v1/api-keys')) });
  const preview = useMutation({
    mutationFn: (value: string) => {
      const [kind, id = ''] = value.split(':');
      const as = kind === 'member' ? { member: id } : { apiKey: id };
      return data(api.POST('/api/v1/policies/preview', { body: { as, ...(draft ? { policy: draft } : {}) } }));
    },
  });
  const options = [
    { group: 'Members', items: (members.data ?? []).map((member) => ({ value: `member:${member.userId}`, label: `${member.email} (${member.role})` })) },
    {
      group: 'Keys and grants',
      items: (keys.data ?? []).filter((key) => !key.revokedAt).map((key) => ({ value: `key:${key.id}`, label: `${key.name} (${key.role}, ${key.access})` })),
    },
  ];
  const loadError = members.error ?? keys.error;
  return (
    <Stack>
      <Title order={3}>Preview</Title>
      <Text size="sm" c="dimmed">
        {draft ? 'Under the draft in the editor (not saved).' : 'Under the saved policy; edit the rules to preview a draft.'} Members are shown as they are
        signed in (as in Try a tool); a key or grant as it stands now.
      </Text>
      {loadError && (
        <Alert color="red" role="alert" title="Members and keys could not be loaded">
          {problemText(loadError)}
        </Alert>
      )}
      <Group align="flex-end">
        <Select label="Preview as" placeholder="Choose a member or key" searchable data={options} value={subject} onChange={setSubject} w={420} />
        <Button variant="default" disabled={!subject} loading={preview.isPending} onClick={() => subject && preview.mutate(subject)}>
          Preview
        </Button>
      </Group>
      {preview.isError && <ProblemList error={preview.error} title="The preview failed" />}
      {preview.data && (
        <Table striped aria-label={`Tools of ${preview.data.as.name}`}>
          <Table.Caption>
            {preview.data.as.name} ({preview.data.as.role}, {preview.data.as.access}):{' '}
            {preview.data.policyVersion === null ? 'under the draft' : `under version ${preview.data.policyVersion}`}
          </Table.Caption>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Tool</Table.Th>
              <Table.Th>Connection</Table.Th>
              <Table.Th>In their tools/list</Table.Th>
              <Table.Th>Why</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {preview.data.tools.map((tool) => (
              <Table.Tr key={tool.name}>
                <Table.Td>{tool.name}</Table.Td>
                <Table.Td>{tool.connection}</Table.Td>
                <Table.Td>
                  <Badge color={shown(tool).color} variant="light">
                    {shown(tool).label}
                  </Badge>
                </Table.Td>
                <Table.Td>{why(tool)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
