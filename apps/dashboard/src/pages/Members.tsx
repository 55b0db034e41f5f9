import { Button, Group, Select, Stack, Table, Text, Title, VisuallyHidden } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useParams } from 'react-router';
import { api, data, Member, problemText } from '../api/client';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Role, ROLES, useSession } from '../session';
import { AddMember } from './AddMember';
import { QueryState } from '../components/QueryState';

/** The organization's people: add someone, change a role, remove someone (which revokes their keys and OAuth grants). */
export function MembersPage() {
  const { org = '' } = useParams();
  const session = useSession();
  const queries = useQueryClient();
  const [removing, setRemoving] = useState<Member | null>(null);
  const members = useQuery({ queryKey: ['members', org], queryFn: () => data(api.GET('/api/v1/members')) });
  const refresh = () => void queries.invalidateQueries({ queryKey: ['members', org] });
  const changeRole = useMutation({
    mutationFn: ({ member, role }: { member: Member; role: Role }) => data(api.PUT('/api/v1/members/{userId}', { params: { path: { userId: member.userId } }, body: { role } })),
    onSuccess: (member) => notifications.show({ color: 'green', message: `${member.email} is now ${member.role}. Their keys and grants follow at their next request.` }),
    onError: (error) => notifications.show({ color: 'red', message: problemText(error) }),
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: (member: Member) => data(api.DELETE('/api/v1/members/{userId}', { params: { path: { userId: member.userId } } })),
    onSuccess: (removed) => {
      setRemoving(null);
      notifications.show({ color: 'green', message: `${removed.email} is removed; ${removed.revokedKeyIds.length} of their keys and grants were revoked.` });
    },
    onSettled: refresh,
  });

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Members</Title>
        <AddMember organization={org} />
      </Group>
      <Text size="sm" c="dimmed">
        Admins add and manage people up to their own role; only owners add or change owners. Members from the config file are changed there.
      </Text>
      <QueryState query={members} what="members" />
      {members.data && (
        <Table striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Person</Table.Th>
              <Table.Th>Role</Table.Th>
              <Table.Th>Member since</Table.Th>
              <Table.Th>
                <VisuallyHidden>Actions</VisuallyHidden>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {members.data.map((member) => {
              const self = member.userId === session.user.id;
              const why = member.configManaged ? 'From the config file' : self ? 'You' : null;
              return (
                <Table.Tr key={member.userId}>
                  <Table.Td>
                    {member.email}
                    {member.name && (
                      <Text span size="sm" c="dimmed">
                        {' '}
                        ({member.name})
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Select
                      aria-label={`Role of ${member.email}`}
                      data={[...ROLES]}
                      value={member.role}
                      allowDeselect={false}
                      disabled={why !== null || changeRole.isPending}
                      onChange={(role) => role && role !== member.role && changeRole.mutate({ member, role: role as Role })}
                      w={140}
                    />
                  </Table.Td>
                  <Table.Td>{new Date(member.createdAt).toLocaleDateString()}</Table.Td>
                  <Table.Td>
                    {why ? (
                      <Text size="sm" c="dimmed">
                        {why}
                      </Text>
                    ) : (
                      <Button size="xs" color="red" variant="light" aria-label={`Remove ${member.email}`} onClick={() => setRemoving(member)}>
                        Remove
                      </Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      )}
      <ConfirmDialog
        opened={removing !== null}
        title={`Remove ${removing?.email ?? ''}?`}
        message="They lose access at once: their API keys and the OAuth clients they connected are revoked, on every replica."
        confirmLabel="Remove"
        pending={remove.isPending}
        error={remove.error}
        onConfirm={() => removing && remove.mutate(removing)}
        onClose={() => setRemoving(null)}
      />
    </Stack>
  );
}
