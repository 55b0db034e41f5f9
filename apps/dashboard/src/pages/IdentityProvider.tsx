import { ActionIcon, Alert, Button, Code, Group, PasswordInput, Select, Stack, Text, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { FormEvent, useState } from 'react';
import { useParams } from 'react-router';
import { api, data, IdentityProvider, IdentityProviderInput, Problem, problemText } from '../api/client';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Role, ROLES } from '../session';
import { QueryState } from '../components/QueryState';

interface RoleRow {
  group: string;
  role: Role;
}

interface Draft {
  issuer: string;
  clientId: string;
  clientSecret: string;
  allowedDomains: string;
  groupsClaim: string;
  roleMap: RoleRow[];
  defaultRole: Role;
}

const EMPTY: Draft = { issuer: '', clientId: '', clientSecret: '', allowedDomains: '', groupsClaim: 'groups', roleMap: [], defaultRole: 'member' };

function draftOf(provider: IdentityProvider | null): Draft {
  if (!provider) return EMPTY;
  return {
    issuer: provider.issuer,
    clientId: provider.clientId,
    clientSecret: '',
    allowedDomains: provider.allowedDomains.join(', '),
    groupsClaim: provider.groupsClaim ?? '',
    roleMap: Object.entries(provider.roleMap).map(([group, role]) => ({ group, role })),
    defaultRole: provider.defaultRole,
  };
}

function inputOf(draft: Draft): IdentityProviderInput {
  return {
    issuer: draft.issuer.trim(),
    clientId: draft.clientId.trim(),
    // Empty keeps the stored secret: it is write-only.
    ...(draft.clientSecret ? { clientSecret: draft.clientSecret } : {}),
    allowedDomains: draft.allowedDomains.split(/[\s,]+/).filter(Boolean),
    groupsClaim: draft.groupsClaim.trim() || 'groups',
    roleMap: Object.fromEntries(draft.roleMap.filter((row) => row.group.trim()).map((row) => [row.group.trim(), row.role])),
    defaultRole: draft.defaultRole,
  };
}

// JSON strings and arrays are YAML too: no quoting rules to get wrong.
function providerYaml(provider: IdentityProvider): string {
  const lines = [
    'identityProvider:',
    `  issuer: ${JSON.stringify(provider.issuer)}`,
    `  clientId: ${JSON.stringify(provider.clientId)}`,
    '  clientSecretEnv: "<the environment variable in your config file>"',
    `  allowedDomains: ${JSON.stringify(provider.allowedDomains)}`,
  ];
  if (provider.groupsClaim) lines.push(`  groupsClaim: ${JSON.stringify(provider.groupsClaim)}`);
  lines.push(`  roleMap: ${JSON.stringify(provider.roleMap)}`, `  defaultRole: ${provider.defaultRole}`);
  return lines.join('\n');
}

/** The organization's OpenID Connect provider: people of its domains sign in through it, with roles from their groups. */
export function IdentityProviderPage() {
  const { org = '' } = useParams();
  const provider = useQuery({
    queryKey: ['identity-provider', org],
    // No provider yet is a 404: the page offers to set one up.
    queryFn: () => data(api.GET('/api/v1/identity-provider')).catch((error: Problem) => (error?.status === 404 ? null : Promise.reject(error))),
  });
  return (
    <Stack>
      <Title order={2}>Identity provider</Title>
      <Text size="sm" c="dimmed">
        People whose email is of an allowed domain sign in through your OpenID Connect provider; their groups decide their role.
      </Text>
      <QueryState query={provider} what="identity provider" />
      {provider.data?.configManaged && (
        <Alert color="blue" title="Managed by the config file">
          <Text size="sm">
            This identity provider is defined in the Gatehouse config file (GATEHOUSE_CONFIG), so it cannot be changed or deleted here. Change its entry in the config file
            and restart the gateway (or ask your Gatehouse operator to):
          </Text>
          <Code block mt="sm" aria-label="Config file entry of the identity provider">
            {providerYaml(provider.data)}
          </Code>
          <Text size="sm" mt="sm">
            Callback URL to register at the provider: <Code>{provider.data.callbackUrl}</Code>
          </Text>
        </Alert>
      )}
      {provider.data !== undefined && !provider.data?.configManaged && <ProviderForm organization={org} provider={provider.data} key={JSON.stringify(provider.data)} />}
    </Stack>
  );
}

function ProviderForm({ organization, provider }: { organization: string; provider: IdentityProvider | null }) {
  const queries = useQueryClient();
  const [draft, setDraft] = useState<Draft>(() => draftOf(provider));
  const [deleting, setDeleting] = useState(false);
  const set = (change: Partial<Draft>) => setDraft((current) => ({ ...current, ...change }));
  const setRow = (index: number, change: Partial<RoleRow>) => set({ roleMap: draft.roleMap.map((row, at) => (at === index ? { ...row, ...change } : row)) });
  const refresh = () => void queries.invalidateQueries({ queryKey: ['identity-provider', organization] });
  const save = useMutation({
    mutationFn: () => data(api.PUT('/api/v1/identity-provider', { body: inputOf(draft) })),
    onSuccess: () => notifications.show({ color: 'green', message: 'The identity provider is saved.' }),
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: () => data(api.DELETE('/api/v1/identity-provider')),
    onSuccess: () => {
      setDeleting(false);
      notifications.show({ color: 'green', message: 'The identity provider is deleted: its people sign in with a password now, if they have one.' });
    },
    onSettled: refresh,
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };

  return (
    <form onSubmit={submit}>
      <Stack maw={640}>
        {provider && (
          <Text size="sm">
            Callback URL to register at the provider: <Code>{provider.callbackUrl}</Code>
          </Text>
        )}
        <TextInput label="Issuer" description="The provider's issuer URL (its discovery document is read from it)" required value={draft.issuer} onChange={(event) => set({ issuer: event.currentTarget.value })} />
        <TextInput label="Client ID" required maxLength={500} value={draft.clientId} onChange={(event) => set({ clientId: event.currentTarget.value })} />
        <PasswordInput
          label="Client secret"
          description={provider?.clientSecretSet ? 'A secret is set. Leave empty to keep it.' : 'Never shown again once saved.'}
          required={!provider}
          maxLength={2000}
          autoComplete="new-password"
          value={draft.clientSecret}
          onChange={(event) => set({ clientSecret: event.currentTarget.value })}
        />
        <TextInput
          label="Allowed domains"
          description="Email domains that sign in through this provider, separated by commas"
          required
          value={draft.allowedDomains}
          onChange={(event) => set({ allowedDomains: event.currentTarget.value })}
        />
        <TextInput label="Groups claim" description="The ID token claim that lists the person's groups" required maxLength={200} value={draft.groupsClaim} onChange={(event) => set({ groupsClaim: event.currentTarget.value })} />
        <Stack gap="xs">
          <Text size="sm" fw={500}>
            Role map
          </Text>
          {draft.roleMap.map((row, index) => (
            <Group key={index} align="flex-end">
              <TextInput label={`Group ${index + 1}`} value={row.group} onChange={(event) => setRow(index, { group: event.currentTarget.value })} />
              <Select label={`Role of group ${index + 1}`} data={[...ROLES]} value={row.role} allowDeselect={false} onChange={(value) => value && setRow(index, { role: value as Role })} w={160} />
              <ActionIcon variant="subtle" color="red" size="lg" aria-label={`Remove group ${index + 1}`} onClick={() => set({ roleMap: draft.roleMap.filter((_, at) => at !== index) })}>
                ×
              </ActionIcon>
            </Group>
          ))}
          <Group>
            <Button variant="default" size="xs" onClick={() => set({ roleMap: [...draft.roleMap, { group: '', role: 'member' }] })}>
              Add group
            </Button>
          </Group>
        </Stack>
        <Select label="Default role" description="For people in none of the groups above" data={[...ROLES]} value={draft.defaultRole} allowDeselect={false} onChange={(value) => value && set({ defaultRole: value as Role })} />
        {save.isError && (
          <Alert color="red" role="alert" title="Not saved">
            {problemText(save.error)}
          </Alert>
        )}
        <Group>
          <Button type="submit" loading={save.isPending}>
            Save
          </Button>
          {provider && (
            <Button color="red" variant="light" onClick={() => setDeleting(true)}>
              Delete
            </Button>
          )}
        </Group>
      </Stack>
      <ConfirmDialog
        opened={deleting}
        title="Delete the identity provider?"
        message="Its people can no longer sign in through it; those without a password cannot sign in until an admin gives them a way."
        confirmLabel="Delete"
        pending={remove.isPending}
        error={remove.error}
        onConfirm={() => remove.mutate()}
        onClose={() => setDeleting(false)}
      />
    </form>
  );
}
