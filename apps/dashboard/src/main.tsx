import '@mantine/core/styles.css';
import '@mantine/notifications/styles.css';
import { createTheme, CSSVariablesResolver, MantineProvider, Modal, Notification } from '@mantine/core';
import { Notifications } from '@mantine/notifications';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createBrowserRouter, LoaderFunctionArgs, Navigate, Outlet, RouterProvider } from 'react-router';
import { setRequestContext } from './api/client';
import { Layout } from './Layout';
import { ApprovalsPage, approvalsQuery } from './pages/Approvals';
import { ConnectionDetailPage } from './pages/ConnectionDetail';
import { EditConnectionPage, NewConnectionPage } from './pages/ConnectionForm';
import { ConnectionsPage } from './pages/Connections';
import { AuditPage } from './pages/Audit';
import { AuditCallPage } from './pages/AuditCall';
import { KeysPage } from './pages/Keys';
import { MembersPage } from './pages/Members';
import { IdentityProviderPage } from './pages/IdentityProvider';
import { ToolChangesPage } from './pages/ToolChanges';
import { TryToolPage } from './pages/TryTool';
import { SessionProvider, useSession } from './session';

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
  return <Navigate to={`/o/${first.slug}/approvals`} replace />;
}

// The inbox's requests are asked for as soon as the route is known, beside the session rather than after it.
const inboxLoader = ({ params }: LoaderFunctionArgs) => {
  setRequestContext({ organization: params['org'] ?? '' });
  void queries.prefetchQuery(approvalsQuery(params['org'] ?? '', 'pending'));
  return null;
};

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
          children: [
            { index: true, element: <Navigate to="approvals" replace /> },
            { path: 'approvals', element: <ApprovalsPage />, loader: inboxLoader },
            { path: 'tool-changes', element: <ToolChangesPage /> },
            { path: 'try', element: <TryToolPage /> },
            { path: 'keys', element: <KeysPage /> },
            { path: 'members', element: <MembersPage /> },
            { path: 'identity-provider', element: <IdentityProviderPage /> },
            { path: 'connections', element: <ConnectionsPage /> },
            { path: 'connections/new', element: <NewConnectionPage /> },
            { path: 'connections/:id', element: <ConnectionDetailPage /> },
            { path: 'connections/:id/edit', element: <EditConnectionPage /> },
            { path: 'audit', element: <AuditPage /> },
            { path: 'audit/calls/:callId', element: <AuditCallPage /> },
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
