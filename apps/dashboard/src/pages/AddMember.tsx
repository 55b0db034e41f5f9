import { Alert, Button, Code, CopyButton, Modal, Select, Stack, Text, TextInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { FormEvent, useState } from 'react';
import { AddedMember, api, data, problemText } from '../api/client';
import { Role, ROLES } from '../session';

/** How the person just added signs in, in words; a set-password link is shown here once, to pass on. */
function SignInOutcome({ added }: { added: AddedMember }) {
  const { member, signIn } = added;
  if (signIn.method === 'identity_provider') {
    return <Text size="sm">{member.email} signs in through the organization's identity provider: tell them to sign in at this dashboard with their work email.</Text>;
  }
  if (signIn.method === 'password' || !signIn.setPasswordUrl) {
    return <Text size="sm">{member.email} already has a Gatehouse account: they sign in as they already do, and now see this organization.</Text>;
  }
  return (
    <Stack gap="xs">
      <Text size="sm">
        Send {member.email} this link to choose a password. It works once, until {signIn.expiresAt ? new Date(signIn.expiresAt).toLocaleString() : 'it expires'}, and is not shown
        again. Gatehouse sends no email: pass it on yourself, privately.
      </Text>
      {/* Wrapped rather than scrolled: a scrolling region would need a keyboard stop of its own. */}
      <Code block aria-label="Set-password link" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>
        {signIn.setPasswordUrl}
      </Code>
      <CopyButton value={signIn.setPasswordUrl}>{({ copied, copy }) => <Button onClick={copy}>{copied ? 'Copied' : 'Copy link'}</Button>}</CopyButton>
    </Stack>
  );
}

/** Adds a person to the organization with a role up to the admin's own (the server enforces it). */
export function AddMember({ organization }: { organization: string }) {
  const queries = useQueryClient();
  const [open, setOpen] = useState(false);
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('member');
  const add = useMutation({
    mutationFn: () => data(api.POST('/api/v1/members', { body: { email: email.trim(), role, ...(name.trim() ? { name: name.trim() } : {}) } })),
    onSettled: () => void queries.invalidateQueries({ queryKey: ['members', organization] }),
  });
  const close = () => {
    setOpen(false);
    setEmail('');
    setName('');
    setRole('member');
    add.reset();
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate();
  };
  return (
    <>
      <Button onClick={() => setOpen(true)}>Add member</Button>
      <Modal opened={open} onClose={close} title={add.data ? `${add.data.member.email} is a member` : 'Add a member'}>
        {add.data ? (
          <Stack>
            <SignInOutcome added={add.data} />
            <Button variant="default" onClick={close}>
              Done
            </Button>
          </Stack>
        ) : (
          <form onSubmit={submit}>
            <Stack>
              <TextInput label="Email" type="email" required maxLength={254} value={email} onChange={(event) => setEmail(event.currentTarget.value)} />
              <Select label="Role" data={[...ROLES]} value={role} onChange={(value) => value && setRole(value as Role)} allowDeselect={false} />
              <TextInput label="Name" description="Optional" maxLength={200} value={name} onChange={(event) => setName(event.currentTarget.value)} />
              {add.isError && (
                <Alert color="red" role="alert">
                  {problemText(add.error)}
                </Alert>
              )}
              <Button type="submit" loading={add.isPending}>
                Add
              </Button>
            </Stack>
          </form>
        )}
      </Modal>
    </>
  );
}
