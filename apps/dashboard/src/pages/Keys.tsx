import { Alert, Button, Code, CopyButton, Group, Modal, Select, Stack, Switch, Table, Text, TextInput, Title, VisuallyHidden } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { FormEvent, useState } from 'react';
import { useParams } from 'react-router';
import { api, ApiKey, data, problemText } from '../api/client';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Role, ROLES, useRole } from '../session';
import { QueryState } from '../components/QueryState';

function when(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : 'never';
}

/** API keys and OAuth grants: admins see and manage the organization's, everyone else their own. */
export function KeysPage() {
  const { org = '' } = useParams();
  const { admin } = useRole(org);
  const queries = useQueryClient();
  const [showRevoked, setShowRevoked] = useState(false);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const keys = useQuery({ queryKey: ['api-keys', org], queryFn: () => data(api.GET('/api/v1/api-keys')) });
  const revoke = useMutation({
    mutationFn: (key: ApiKey) => data(api.DELETE('/api/v1/api-keys/{id}', { params: { path: { id: key.id } } })),
    onSuccess: (key) => {
      setRevoking(null);
      notifications.show({ color: 'green', message: `${key.name} is revoked: it no longer works anywhere.` });
    },
    onSettled: () => void queries.invalidateQueries({ queryKey: ['api-keys', org] }),
  });

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Keys and grants</Title>
        {admin && <CreateKey organization={org} />}
      </Group>
      <Text size="sm" c="dimmed">
        {admin ? "Every API key of the organization, and every OAuth client a person connected (shown as “MCP — <client>”)." : 'Your API keys, and the OAuth clients you connected (shown as “MCP — <client>”).'}
      </Text>
      <Switch label="Show revoked" checked={showRevoked} onChange={(event) => setShowRevoked(event.currentTarget.checked)} />
      <QueryState query={keys} what="keys" />
      {keys.data && (
        <Table striped highlightOnHover>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Kind</Table.Th>
              <Table.Th>Role</Table.Th>
              <Table.Th>Access</Table.Th>
              <Table.Th>Created</Table.Th>
              <Table.Th>Last used</Table.Th>
              <Table.Th>
                <VisuallyHidden>Actions</VisuallyHidden>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {keys.data
              .filter((key) => showRevoked || !key.revokedAt)
              .map((key) => (
                <Table.Tr key={key.id}>
                  <Table.Td>
                    {key.name} <Text span size="xs" c="dimmed">{key.prefix}…</Text>
                  </Table.Td>
                  <Table.Td>{key.kind === 'oauth_grant' ? 'OAuth grant' : 'API key'}</Table.Td>
                  <Table.Td>{key.role}</Table.Td>
                  <Table.Td>{key.access === 'read_only' ? 'read-only' : 'read-write'}</Table.Td>
                  <Table.Td>{when(key.createdAt)}</Table.Td>
                  <Table.Td>{when(key.lastUsedAt)}</Table.Td>
                  <Table.Td>
                    {key.revokedAt ? (
                      <Text size="sm" c="dimmed">
                        revoked {when(key.revokedAt)}
                      </Text>
                    ) : key.configManaged ? (
                      <Text size="sm" c="dimmed">
                        from the config file
                      </Text>
                    ) : (
                      <Button size="xs" color="red" variant="light" aria-label={`Revoke ${key.name}`} onClick={() => setRevoking(key)}>
                        Revoke
                      </Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
          </Table.Tbody>
        </Table>
      )}
      <ConfirmDialog
        opened={revoking !== null}
        title={`Revoke ${revoking?.name ?? ''}?`}
        message={
          revoking?.kind === 'oauth_grant'
            ? 'The client is disconnected at once: its next request is refused, and the person must connect it again.'
            : 'Whatever uses this key is refused from its next request, and so are the keys it minted.'
        }
        confirmLabel="Revoke"
        pending={revoke.isPending}
        error={revoke.error}
        onConfirm={() => revoking && revoke.mutate(revoking)}
        onClose={() => setRevoking(null)}
      />
    </Stack>
  );
}

/** A new key: its secret is shown here once, to copy; Gatehouse keeps only its hash. */
function CreateKey({ organization }: { organization: string }) {
  const queries = useQueryClient();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [access, setAccess] = useState<string>('read_write');
  const create = useMutation({
    mutationFn: () => data(api.POST('/api/v1/api-keys', { body: { name, role, access: access as 'read_write' } })),
    onSettled: () => void queries.invalidateQueries({ queryKey: ['api-keys', organization] }),
  });
  const close = () => {
    setOpen(false);
    setName('');
    create.reset();
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <>
      <Button onClick={() => setOpen(true)}>Create key</Button>
      <Modal opened={open} onClose={close} title="Create an API key">
        {create.data ? (
          <Stack>
            <Text size="sm">Copy the key now: it is not shown again.</Text>
            <Code block aria-label="New key">
              {create.data.secret}
            </Code>
            <CopyButton value={create.data.secret}>{({ copied, copy }) => <Button onClick={copy}>{copied ? 'Copied' : 'Copy key'}</Button>}</CopyButton>
            <Button variant="default" onClick={close}>
              Done
            </Button>
          </Stack>
        ) : (
          <form onSubmit={submit}>
            <Stack>
              <TextInput label="Name" required maxLength={100} value={name} onChange={(event) => setName(event.currentTarget.value)} />
              <Select label="Role" data={[...ROLES]} value={role} onChange={(value) => value && setRole(value as Role)} allowDeselect={false} />
              <Select label="Access" data={[{ value: 'read_write', label: 'read-write' }, { value: 'read_only', label: 'read-only' }]} value={access} onChange={(value) => value && setAccess(value)} allowDeselect={false} />
              {create.isError && (
                <Alert color="red" role="alert">
                  {problemText(create.error)}
                </Alert>
              )}
              <Button type="submit" loading={create.isPending}>
                Create
              </Button>
            </Stack>
          </form>
        )}
      </Modal>
    </>
  );
}
