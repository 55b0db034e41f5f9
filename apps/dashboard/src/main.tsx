import '@mantine/core/styles.css';
import '@mantine/notifications/styles.css';
import '@mantine/charts/styles.css';
import { createTheme, CSSVariablesResolver, MantineProvider, Modal, Notification } from '@mantine/core';
import { Notifications } from '@mantine/notifications';
import { FetchQueryOptions, QueryClient, QueryClientProvider, QueryKey } from '@tanstack/react-query';
import { ComponentType, StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createBrowserRouter, LoaderFunctionArgs, Navigate, Outlet, RouterProvider, useParams } from 'react-router';
import { setRequestContext } from './api/client';
import { Layout } from './Layout';
import { ApprovalsPage, approvalsQuery } from './pages/Approvals';
import { overviewQuery } from './pages/overviewQuery';
import { sees, SessionProvider, useRole, useSession } from './session';
import { RouteError } from './components/RouteError';

// Shades and automatic text colours that keep WCAG AA contrast (checked by axe-core in the tests).
const theme = createTheme({
  primaryColor: 'indigo',
  primaryShade: 8,
  autoContrast: true,
  // Every dialog's and notification's close button has a name for screen readers.
  components: {
    Modal: Modal.extend({ defaultProps: { closeButtonProps: { 'aria-label': 'Close' } } }),
    Notification: Notification.extend({ defaultProps: { closeButtonProps: { 'aria-label': 'Close' } } }),
  },
});
// Dimmed text dark enough on white (Mantine's gray.6 is 3.3:1).
const variables: CSSVariablesResolver = () => ({ variables: {}, light: { '--mantine-color-dimmed': 'var(--mantine-color-gray-7)' }, dark: {} });

// A failed read is retried twice, then shown with what to do; nothing spins for ever.
const queries = new QueryClient({ defaultOptions: { queries: { retry: 2, staleTime: 5_000 } } });

function Home() {
  const session = useSession();
  const first = session.organizations[0];
  if (!first) return <p role="alert">{session.user.email} is not a member of any organization on this Gatehouse. Ask an administrator to add you.</p>;
  return <Navigate to={`/o/${first.slug}`} replace />;
}

// Those who read the record land on the overview; everyone else on their approvals inbox.
function OrganizationHome() {
  const { org = '' } = useParams();
  return <Navigate to={sees(useRole(org).role, 'records') ? 'overview' : 'approvals'} replace />;
}

// A page's data is asked for as soon as the route is known, beside the session (and the page's chunk) rather than
// after them: the inbox, and the overview, whose chunk carries the chart library.
const prefetching =
  <T, K extends QueryKey>(query: (organization: string) => FetchQueryOptions<T, Error, T, K>) =>
  ({ params }: LoaderFunctionArgs) => {
    setRequestContext({ organization: params['org'] ?? '' });
    void queries.prefetchQuery(query(params['org'] ?? ''));
    return null;
  };

// Every page but the inbox is a chunk of its own, fetched when first opened: the first load carries the inbox only.
function lazyPage<M>(load: () => Promise<M>, pick: (module: M) => ComponentType) {
  return { lazy: async () => ({ Component: pick(await load()) }) };
}

const router = createBrowserRouter(
  [
    {
      element: (
        <SessionProvider>
          <Outlet />
        </SessionProvider>
      ),
      children: [
        { path: '/', element: <Home /> },
        {
          path: '/o/:org',
          element: <Layout />,
          errorElement: <RouteError />,
          children: [
            { index: true, element: <OrganizationHome /> },
            { path: 'overview', loader: prefetching(overviewQuery), ...lazyPage(() => import('./pages/Overview'), (m) => m.OverviewPage) },
            { path: 'approvals', element: <ApprovalsPage />, loader: prefetching(approvalsQuery) },
            { path: 'tool-changes', ...lazyPage(() => import('./pages/ToolChanges'), (m) => m.ToolChangesPage) },
            { path: 'try', ...lazyPage(() => import('./pages/TryTool'), (m) => m.TryToolPage) },
            { path: 'keys', ...lazyPage(() => import('./pages/Keys'), (m) => m.KeysPage) },
            { path: 'policies', ...lazyPage(() => import('./pages/Policies'), (m) => m.PoliciesPage) },
            { path: 'members', ...lazyPage(() => import('./pages/Members'), (m) => m.MembersPage) },
            { path: 'identity-provider', ...lazyPage(() => import('./pages/IdentityProvider'), (m) => m.IdentityProviderPage) },
            { path: 'connections', ...lazyPage(() => import('./pages/Connections'), (m) => m.ConnectionsPage) },
            { path: 'connections/new', ...lazyPage(() => import('./pages/ConnectionForm'), (m) => m.NewConnectionPage) },
            { path: 'connections/:id', ...lazyPage(() => import('./pages/ConnectionDetail'), (m) => m.ConnectionDetailPage) },
            { path: 'connections/:id/edit', ...lazyPage(() => import('./pages/ConnectionForm'), (m) => m.EditConnectionPage) },
            { path: 'audit', ...lazyPage(() => import('./pages/Audit'), (m) => m.AuditPage) },
            { path: 'audit/calls/:callId', ...lazyPage(() => import('./pages/AuditCall'), (m) => m.AuditCallPage) },
            { path: 'workflows', ...lazyPage(() => import('./pages/Workflows'), (m) => m.WorkflowsPage) },
            { path: 'workflows/runs/:runId', ...lazyPage(() => import('./pages/WorkflowRun'), (m) => m.WorkflowRunPage) },
            { path: 'usage', ...lazyPage(() => import('./pages/Usage'), (m) => m.UsagePage) },
          ],
        },
        { path: '*', element: <Navigate to="/" replace /> },
      ],
    },
  ],
  { basename: '/admin' },
);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme} cssVariablesResolver={variables}>
      <Notifications />
      <QueryClientProvider client={queries}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
