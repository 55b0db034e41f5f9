import { AppShell, Button, Group, NavLink, Select, Text, Title } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { Navigate, NavLink as RouterLink, Outlet, useLocation, useNavigate, useParams } from 'react-router';
import { api, setRequestContext } from './api/client';
import { useLiveUpdates } from './live';
import { Audience, sees, useSession } from './session';

const PAGES: readonly { path: string; label: string; audience: Audience }[] = [
  { path: 'overview', label: 'Overview', audience: 'records' },
  { path: 'approvals', label: 'Approvals', audience: 'everyone' },
  { path: 'connections', label: 'Connections', audience: 'tools' },
  { path: 'tool-changes', label: 'Tool changes', audience: 'tools' },
  { path: 'try', label: 'Try a tool', audience: 'tools' },
  { path: 'workflows', label: 'Workflows', audience: 'everyone' },
  { path: 'keys', label: 'Keys and grants', audience: 'everyone' },
  { path: 'policies', label: 'Policies', audience: 'admin' },
  { path: 'members', label: 'Members', audience: 'admin' },
  { path: 'identity-provider', label: 'Identity provider', audience: 'admin' },
  { path: 'audit', label: 'Audit log', audience: 'records' },
  { path: 'usage', label: 'Usage and budgets', audience: 'records' },
];

/** The frame of every page of an organization: header (organization, person, sign-out) and navigation. */
export function Layout() {
  const session = useSession();
  const { org = '' } = useParams();
  const navigate = useNavigate();
  const location = useLocation();
  const queries = useQueryClient();
  const membership = session.organizations.find((organization) => organization.slug === org);
  // Before any query of this page runs: every request of the page acts in this organization.
  setRequestContext({ organization: org });
  useLiveUpdates(org);
  if (!membership) return <Navigate to="/" replace />;

  const signOut = async () => {
    await api.DELETE('/api/v1/session');
    queries.clear();
    window.location.assign('/admin/sign-in');
  };

  return (
    <AppShell header={{ height: 60 }} navbar={{ width: 220, breakpoint: 'sm' }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Title order={1} size="h3">
            Gatehouse
          </Title>
          <Group>
            {session.organizations.length > 1 ? (
              <Select
                aria-label="Organization"
                data={session.organizations.map((organization) => ({ value: organization.slug, label: organization.name }))}
                value={org}
                allowDeselect={false}
                onChange={(slug) => slug && navigate(location.pathname.replace(`/o/${org}/`, `/o/${slug}/`))}
              />
            ) : (
              <Text fw={500}>{membership.name}</Text>
            )}
            <Text size="sm" c="dimmed">
              {session.user.email} ({membership.role})
            </Text>
            <Button variant="default" onClick={() => void signOut()}>
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="sm" aria-label="Pages">
        {PAGES.filter((page) => sees(membership.role, page.audience)).map((page) => (
          <NavLink key={page.path} component={RouterLink} to={`/o/${org}/${page.path}`} label={page.label} />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
