import { Group, Select, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, data } from '../api/client';
import { DiffView } from '../components/DiffView';
import { revisionText } from './policyText';
import { QueryState } from '../components/QueryState';

/** Every saved version of the policy (newest first) and the difference between two of them. */
export function PolicyRevisions({ org }: { org: string }) {
  const revisions = useQuery({ queryKey: ['policy-revisions', org], queryFn: () => data(api.GET('/api/v1/policies/revisions')) });
  const [chosen, setChosen] = useState<{ from: string | null; to: string | null }>({ from: null, to: null });
  const list = revisions.data ?? [];
  // By default the latest change: the newest version against the one before it.
  const to = list.find((revision) => String(revision.version) === chosen.to) ?? list[0];
  const from = list.find((revision) => String(revision.version) === chosen.from) ?? list.find((revision) => to && revision.version < to.version);
  const versions = list.map((revision) => ({ value: String(revision.version), label: `Version ${revision.version}` }));
  return (
    <Stack>
      <Title order={3}>Revisions</Title>
      <QueryState query={revisions} what="revisions" />
      {revisions.data && list.length === 0 && (
        <Text size="sm" c="dimmed">
          The policy has not been changed yet.
        </Text>
      )}
      {list.length > 0 && (
        <Table striped aria-label="Policy revisions">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Version</Table.Th>
              <Table.Th>Saved</Table.Th>
              <Table.Th>By</Table.Th>
              <Table.Th>Rules</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.map((revision) => (
              <Table.Tr key={revision.id}>
                <Table.Td>{revision.version}</Table.Td>
                <Table.Td>{new Date(revision.createdAt).toLocaleString()}</Table.Td>
                <Table.Td>{revision.changedBy ?? 'unknown'}</Table.Td>
                <Table.Td>{revision.rules.rules.length}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {list.length > 1 && (
        <>
          <Group>
            <Select label="Compare version" data={versions} value={from ? String(from.version) : null} onChange={(value) => setChosen((c) => ({ ...c, from: value }))} allowDeselect={false} w={180} />
            <Select label="with version" data={versions} value={to ? String(to.version) : null} onChange={(value) => setChosen((c) => ({ ...c, to: value }))} allowDeselect={false} w={180} />
          </Group>
          {from && to && <DiffView before={revisionText(from)} after={revisionText(to)} label={`Difference between version ${from.version} and version ${to.version}`} />}
        </>
      )}
    </Stack>
  );
}
