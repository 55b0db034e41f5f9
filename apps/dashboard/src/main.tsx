import '@mantine/core/styles.css';
import '@mantine/notifications/styles.css';
import { createTheme, MantineProvider } from '@mantine/core';
import { Notifications } from '@mantine/notifications';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createBrowserRouter, Navigate, RouterProvider } from 'react-router';
import { Layout } from './Layout';
import { ApprovalsPage } from './pages/Approvals';
import { SessionProvider, useSession } from './session';

// A failed read is retried twice, then shown with what to do; nothing spins for ever.
const queries = new QueryClient({ defaultOptions: { queries: { retry: 2, staleTime: 5_000 } } });

function Home() {
  const session = useSession();
  const first = session.organizations[0];
  if (!first) return <p role="alert">{session.user.email} is not a member of any organization on this Gatehouse. Ask an administrator to add you.</p>;
  return <Navigate to={`/o/${first.slug}/approvals`} replace />;
}

const router = createBrowserRouter(
  [
    { path: '/', element: <Home /> },
    { path: '/o/:org', element: <Layout />, children: [{ index: true, element: <Navigate to="approvals" replace /> }, { path: 'approvals', element: <ApprovalsPage /> }] },
    { path: '*', element: <Navigate to="/" replace /> },
  ],
  { basename: '/admin' },
);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={createTheme({ primaryColor: 'indigo' })}>
      <Notifications />
      <QueryClientProvider client={queries}>
        <SessionProvider>
          <RouterProvider router={router} />
        </SessionProvider>
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
