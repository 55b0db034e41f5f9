import { Center, Loader, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { createContext, ReactNode, useContext } from 'react';
import { api, data, problemText, Session, setRequestContext } from './api/client';

const SessionContext = createContext<Session | null>(null);

/** The signed-in person; the children render only once the session is known (else: off to sign in). */
export function SessionProvider({ children }: { children: ReactNode }) {
  const session = useQuery({
    queryKey: ['session'],
    queryFn: async () => {
      const value = await data(api.GET('/api/v1/session'));
      setRequestContext({ csrfToken: value.csrfToken });
      return value;
    },
    staleTime: 60_000,
    retry: 1,
  });
  if (session.isPending) {
    return (
      <Center h="100vh">
        <Loader aria-label="Loading your session" />
      </Center>
    );
  }
  if (session.isError) {
    return (
      <Center h="100vh">
        <Text role="alert">{problemText(session.error)}</Text>
      </Center>
    );
  }
  return <SessionContext.Provider value={session.data}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

export type Role = Session['organizations'][number]['role'];
export const ROLES: readonly Role[] = ['owner', 'admin', 'member', 'contractor', 'auditor'];

/**
 * Who a page is for, as the server's abilities (CASL) decide; the navigation only mirrors them. `tools`: everyone who
 * calls tools (not auditors); `records`: whoever reads the audit log and usage (admins and auditors).
 */
export type Audience = 'everyone' | 'tools' | 'records' | 'admin';

export function sees(role: Role, audience: Audience): boolean {
  const admin = role === 'owner' || role === 'admin';
  switch (audience) {
    case 'everyone':
      return true;
    case 'tools':
      return role !== 'auditor';
    case 'records':
      return admin || role === 'auditor';
    case 'admin':
      return admin;
  }
}

/** The person's role in the organization of the page, and whether it administers (owner or admin). */
export function useRole(organization: string): { role: Role; admin: boolean } {
  const role = useSession().organizations.find((membership) => membership.slug === organization)?.role ?? 'member';
  return { role, admin: sees(role, 'admin') };
}
