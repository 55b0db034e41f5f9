import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { query } from '../support/database';
import { ApiReply, apiRequest } from '../support/admin-api';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { FIXTURE_SERVER, fixtureStdioYaml, RunningServer, startFixtureHttp } from '../support/servers';
import { waitFor } from '../support/wait';

// Longer than the root 60 s: this suite waits on spawned processes and reconnects on a small, shared machine.
jest.setTimeout(120_000);

const ADMIN = 'ghk_test_admin_api_admin_key_0001';
const MEMBER = 'ghk_test_admin_api_member_key_0002';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
}

interface ConnectionView {
  id: string;
  name: string;
  transport: string;
  url: string | null;
  command: string | null;
  args: string[];
  env: Record<string, string>;
  headers: Record<string, string>;
  maxConcurrency: number;
  enabled: boolean;
  configManaged: boolean;
}

interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  role: string;
  access: string;
  revokedAt: string | null;
  secret?: string;
}

const fixtureSpec = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  transport: 'stdio',
  command: process.execPath,
  args: [FIXTURE_SERVER, 'stdio'],
  ...extra,
});

describe('the admin REST API', () => {
  let gateway: TestGateway;
  let fixtureHttp: RunningServer;
  let client: Client | undefined;
  let managedId: string;

  const call = <T>(method: string, path: string, options: { token?: string | null; body?: unknown } = {}): Promise<ApiReply<T>> =>
    apiRequest<T>(gateway.baseUrl, options.token === undefined ? ADMIN : options.token, method, path, options.body);


  const expectProblem = (reply: ApiReply<unknown>, status: number) => {
    expect({ status: reply.status, contentType: reply.contentType }).toEqual({
      status,
      contentType: expect.stringContaining('application/problem+json'),
    });
    expect(reply.body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
    return reply.body as Problem;
  };

  beforeAll(async () => {
    fixtureHttp = await startFixtureHttp();
    gateway = await startGateway({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN_KEY }
      - { name: member, role: member, secretEnv: MEMBER_KEY }
    connections:
      - ${fixtureStdioYaml('managed')}
`,
      vars: { ADMIN_KEY: ADMIN, MEMBER_KEY: MEMBER },
    });
    const connections = await call<ConnectionView[]>('GET', '/api/v1/connections');
    managedId = connections.body.find((connection) => connection.name === 'managed')!.id;
    await waitFor('the config-managed connection to be connected', async () => {
      const health = await call<{ status: string; toolCount: number }>('GET', `/api/v1/connections/${managedId}/health`);
      return health.body.status === 'connected' && health.body.toolCount > 0;
    }, 30_000);
  }, 120_000);

  afterAll(async () => {
    await client?.close();
    await gateway?.close();
    await fixtureHttp?.stop();
  });

  describe('connections', () => {
    it('creates, reads, lists, updates and deletes a connection', async () => {
      const created = await call<ConnectionView>('POST', '/api/v1/connections', { body: fixtureSpec('crud') });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        name: 'crud',
        transport: 'stdio',
        command: process.execPath,
        args: [FIXTURE_SERVER, 'stdio'],
        maxConcurrency: 32,
        enabled: true,
        configManaged: false,
      });
      const id = created.body.id;

      const fetched = await call<ConnectionView>('GET', `/api/v1/connections/${id}`);
      expect(fetched.status).toBe(200);
      expect(fetched.body).toEqual(created.body);
      const listed = await call<ConnectionView[]>('GET', '/api/v1/connections');
      expect(listed.body.map((connection) => connection.name)).toEqual(expect.arrayContaining(['crud', 'managed']));

      client ??= await connectClient(gateway.mcpUrl, ADMIN);
      const admin = client;
      const toolNames = async () => (await listAllTools(admin)).map((tool) => tool.name);
      await waitFor('the new connection to list its tools', async () => (await toolNames()).includes('crud_echo'), 30_000);

      const updated = await call<ConnectionView>('PUT', `/api/v1/connections/${id}`, {
        body: fixtureSpec('crud-renamed', { maxConcurrency: 4 }),
      });
      expect(updated.status).toBe(200);
      expect(updated.body).toMatchObject({ id, name: 'crud-renamed', maxConcurrency: 4 });
      expect((await call<ConnectionView>('GET', `/api/v1/connections/${id}`)).body).toMatchObject({ name: 'crud-renamed', maxConcurrency: 4 });
      await waitFor('the renamed connection to replace its tools', async () => {
        const names = await toolNames();
        return names.includes('crud-renamed_echo') && !names.some((name) => name.startsWith('crud_'));
      }, 30_000);
      const renameClash = expectProblem(await call('PUT', `/api/v1/connections/${id}`, { body: fixtureSpec('managed') }), 409);
      expect(renameClash.detail).toContain('"managed"');

      const deleted = await call<string>('DELETE', `/api/v1/connections/${id}`);
      expect(deleted.status).toBe(204);
      expectProblem(await call('GET', `/api/v1/connections/${id}`), 404);
      const after = await call<ConnectionView[]>('GET', '/api/v1/connections');
      expect(after.body.map((connection) => connection.name)).not.toContain('crud-renamed');
      await waitFor('the deleted connection to leave tools/list', async () => !(await toolNames()).some((name) => name.startsWith('crud-renamed_')));
    });

    it('refuses an invalid body with 400 problem JSON naming the field', async () => {
      const badTransport = expectProblem(await call('POST', '/api/v1/connections', { body: { name: 'bad', transport: 'ftp' } }), 400);
      expect(badTransport.errors?.map((error) => error.path)).toContain('transport');
      expect(badTransport.detail).toContain('transport');

      const missingUrl = expectProblem(await call('POST', '/api/v1/connections', { body: { name: 'no-url', transport: 'http' } }), 400);
      expect(missingUrl.errors).toEqual(expect.arrayContaining([{ path: 'url', message: expect.stringContaining('required') }]));

      const unknownField = expectProblem(
        await call('POST', '/api/v1/connections', { body: { ...fixtureSpec('extra'), colour: 'blue' } }),
        400,
      );
      expect(unknownField.detail).toContain('colour');
    });

    it('refuses a name with "_" and the reserved name "gatehouse"', async () => {
      const underscore = expectProblem(await call('POST', '/api/v1/connections', { body: fixtureSpec('my_tools') }), 400);
      expect(underscore.errors?.map((error) => error.path)).toEqual(['name']);
      expect(underscore.detail).toMatch(/no "_"/);
      const reserved = expectProblem(await call('POST', '/api/v1/connections', { body: fixtureSpec('gatehouse') }), 400);
      expect(reserved.errors?.map((error) => error.path)).toEqual(['name']);
      expect(reserved.detail).toMatch(/reserved/);
      const names = (await call<ConnectionView[]>('GET', '/api/v1/connections')).body.map((connection) => connection.name);
      expect(names).not.toContain('my_tools');
      expect(names).not.toContain('gatehouse');
    });

    it('refuses a duplicate name with 409', async () => {
      const first = await call<ConnectionView>('POST', '/api/v1/connections', { body: fixtureSpec('twice', { enabled: false }) });
      expect(first.status).toBe(201);
      const second = expectProblem(await call('POST', '/api/v1/connections', { body: fixtureSpec('twice', { enabled: false }) }), 409);
      expect(second.detail).toContain('"twice"');
      const clash = expectProblem(await call('POST', '/api/v1/connections', { body: fixtureSpec('managed') }), 409);
      expect(clash.detail).toContain('"managed"');
      await call('DELETE', `/api/v1/connections/${first.body.id}`);
    });

    it('answers 404 for an unknown id and 400 for an id that is not a UUID', async () => {
      const unknown = randomUUID();
      const requests: [string, string, unknown?][] = [
        ['GET', `/api/v1/connections/${unknown}`],
        ['PUT', `/api/v1/connections/${unknown}`, fixtureSpec('ghost')],
        ['DELETE', `/api/v1/connections/${unknown}`],
        ['POST', `/api/v1/connections/${unknown}/test`],
      ];
      for (const [method, path, body] of requests) {
        const problem = expectProblem(await call(method, path, body ? { body } : {}), 404);
        expect(problem.detail).toContain(unknown);
      }
      expectProblem(await call('GET', `/api/v1/connections/${unknown}/tools`), 404);
      for (const method of ['GET', 'DELETE']) {
        expectProblem(await call(method, '/api/v1/connections/not-a-uuid'), 400);
      }
      expectProblem(await call('PUT', '/api/v1/connections/not-a-uuid', { body: fixtureSpec('ghost') }), 400);
      expectProblem(await call('GET', '/api/v1/connections/not-a-uuid/tools'), 400);
    });

    it('tests a connection: ok with the tool names for a working server, ok:false with the error for one that does not answer', async () => {
      const working = await call<{ ok: boolean; tools: string[]; toolCount: number; error: string | null; server: { name: string } | null }>(
        'POST',
        `/api/v1/connections/${managedId}/test`,
      );
      expect(working.status).toBe(200);
      expect(working.body).toMatchObject({ ok: true, error: null, server: { name: 'fixture' } });
      expect(working.body.tools).toEqual(expect.arrayContaining(['echo', 'write_note', 'slow', 'count']));
      expect(working.body.toolCount).toBe(working.body.tools.length);

      const broken = await call<ConnectionView>('POST', '/api/v1/connections', {
        // Nothing listens on port 1.
        body: { name: 'broken', transport: 'http', url: 'http://127.0.0.1:1/mcp', enabled: false },
      });
      expect(broken.status).toBe(201);
      const failed = await call<{ ok: boolean; tools: string[]; error: string | null }>('POST', `/api/v1/connections/${broken.body.id}/test`);
      expect(failed.status).toBe(200);
      expect(failed.body).toMatchObject({ ok: false, tools: [], error: expect.any(String) });
      expect(failed.body.error!.length).toBeGreaterThan(0);
      await call('DELETE', `/api/v1/connections/${broken.body.id}`);
    });

    it("lists a connection's tools, with the downstream name", async () => {
      const tools = await call<{ name: string; downstreamName: string; description?: string; inputSchema: unknown }[]>(
        'GET',
        `/api/v1/connections/${managedId}/tools`,
      );
      expect(tools.status).toBe(200);
      expect(tools.body).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'managed_echo', downstreamName: 'echo', description: 'Echoes text', inputSchema: expect.any(Object) }),
          expect.objectContaining({ name: 'managed_write_note', downstreamName: 'write_note' }),
        ]),
      );
    });

    it('reports health for all connections, for one, and after a refresh', async () => {
      const all = await call<{ id: string; name: string; status: string; healthy: boolean; toolCount: number }[]>(
        'GET',
        '/api/v1/connections/health',
      );
      expect(all.status).toBe(200);
      expect(all.body.find((connection) => connection.name === 'managed')).toMatchObject({
        id: managedId,
        status: 'connected',
        healthy: true,
        toolCount: expect.any(Number),
      });
      const one = await call<{ name: string; status: string; toolCount: number }>('GET', `/api/v1/connections/${managedId}/health`);
      expect(one.body).toMatchObject({ name: 'managed', status: 'connected' });
      expect(one.body.toolCount).toBeGreaterThanOrEqual(7);
      const refreshed = await call<{ name: string; lastToolRefreshAt: string | null }>('POST', `/api/v1/connections/${managedId}/refresh`);
      expect(refreshed.status).toBe(200);
      expect(refreshed.body).toMatchObject({ name: 'managed', lastToolRefreshAt: expect.any(String) });
    });

    it('refuses to update or delete a config-managed connection (409)', async () => {
      const update = expectProblem(await call('PUT', `/api/v1/connections/${managedId}`, { body: fixtureSpec('managed', { maxConcurrency: 2 }) }), 409);
      expect(update.detail).toMatch(/config file/);
      const remove = expectProblem(await call('DELETE', `/api/v1/connections/${managedId}`), 409);
      expect(remove.detail).toMatch(/config file/);
      const still = await call<ConnectionView>('GET', `/api/v1/connections/${managedId}`);
      expect(still.body).toMatchObject({ name: 'managed', maxConcurrency: 32, configManaged: true });
    });

    it('encrypts header and env secrets at rest and redacts them in responses', async () => {
      const headerCanary = `hdr-canary-${randomUUID()}`;
      const envCanary = `env-canary-${randomUUID()}`;
      const marker = join(mkdtempSync(join(tmpdir(), 'gatehouse-secrets-')), 'marker.log');
      const viaHttp = await call<ConnectionView>('POST', '/api/v1/connections', {
        body: { name: 'secret-http', transport: 'http', url: fixtureHttp.url, headers: { Authorization: `Bearer ${headerCanary}`, 'X-Team': 'blue' } },
      });
      const viaStdio = await call<ConnectionView>('POST', '/api/v1/connections', {
        body: fixtureSpec('secret-env', { env: { API_TOKEN: envCanary, FIXTURE_MARKER: marker } }),
      });
      expect([viaHttp.status, viaStdio.status]).toEqual([201, 201]);

      const rows = await query<{ name: string; secrets: string | null }>(
        gateway.databaseUrl,
        'SELECT name, secrets FROM connections WHERE id = ANY($1::uuid[])',
        [[viaHttp.body.id, viaStdio.body.id]],
      );
      expect(rows).toHaveLength(2);
      for (const row of rows) {
        expect(row.secrets).toEqual(expect.any(String));
        expect(row.secrets).not.toContain(headerCanary);
        expect(row.secrets).not.toContain(envCanary);
        expect(row.secrets).not.toContain(marker);
      }
      const everything = JSON.stringify(await query(gateway.databaseUrl, 'SELECT * FROM connections'));
      expect(everything).not.toContain(headerCanary);
      expect(everything).not.toContain(envCanary);

      const responses = [
        viaHttp.body,
        viaStdio.body,
        (await call<ConnectionView>('GET', `/api/v1/connections/${viaHttp.body.id}`)).body,
        (await call<ConnectionView>('GET', `/api/v1/connections/${viaStdio.body.id}`)).body,
        ...(await call<ConnectionView[]>('GET', '/api/v1/connections')).body,
      ];
      const text = JSON.stringify(responses);
      expect(text).not.toContain(headerCanary);
      expect(text).not.toContain(envCanary);
      expect(text).not.toContain(marker);
      expect(viaHttp.body.headers).toEqual({ Authorization: '***', 'X-Team': '***' });
      expect(viaStdio.body.env).toEqual({ API_TOKEN: '***', FIXTURE_MARKER: '***' });

      // The stored values still reach the downstream: the stdio server writes to the marker file it was given.
      client ??= await connectClient(gateway.mcpUrl, ADMIN);
      const admin = client;
      await waitFor('the secret connections to list their tools', async () => {
        const names = (await listAllTools(admin)).map((tool) => tool.name);
        return names.includes('secret-env_count') && names.includes('secret-http_echo');
      }, 30_000);
      expect(textOf(await admin.callTool({ name: 'secret-env_count', arguments: {} }))).toBe('1');
      await waitFor('the downstream to see the decrypted env', () => existsSync(marker) && readFileSync(marker, 'utf8').includes('call:count'));
      await call('DELETE', `/api/v1/connections/${viaHttp.body.id}`);
      await call('DELETE', `/api/v1/connections/${viaStdio.body.id}`);
    });
  });

  describe('API keys', () => {
    it('returns the secret once, never lists it or its hash, and the new key works until revoked (then 401)', async () => {
      const created = await call<ApiKeyView>('POST', '/api/v1/api-keys', { body: { name: 'script', role: 'member', access: 'read_write' } });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ id: expect.any(String), name: 'script', role: 'member', access: 'read_write', revokedAt: null });
      const secret = created.body.secret!;
      expect(secret).toMatch(/^ghk_/);
      expect(secret.startsWith(created.body.prefix)).toBe(true);
      expect(created.body).not.toHaveProperty('secretHash');

      const listed = await call<(ApiKeyView & Record<string, unknown>)[]>('GET', '/api/v1/api-keys');
      expect(listed.status).toBe(200);
      const text = JSON.stringify(listed.body);
      expect(text).not.toContain(secret);
      expect(text).not.toContain(createHash('sha256').update(secret).digest('hex'));
      for (const key of listed.body) {
        expect(key).not.toHaveProperty('secret');
        expect(key).not.toHaveProperty('secretHash');
      }
      expect(listed.body.find((key) => key.id === created.body.id)).toMatchObject({ name: 'script', prefix: created.body.prefix });

      const works = await call<ConnectionView[]>('GET', '/api/v1/connections', { token: secret });
      expect(works.status).toBe(200);
      expect(works.body.map((connection) => connection.name)).toContain('managed');

      const revoked = await call<ApiKeyView>('DELETE', `/api/v1/api-keys/${created.body.id}`);
      expect(revoked.status).toBe(200);
      expect(revoked.body).toMatchObject({ id: created.body.id, revokedAt: expect.any(String) });
      const refused = await call('GET', '/api/v1/connections', { token: secret });
      expectProblem(refused, 401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer /);
      const listedAfter = await call<ApiKeyView[]>('GET', '/api/v1/api-keys');
      expect(listedAfter.body.find((key) => key.id === created.body.id)?.revokedAt).toEqual(expect.any(String));
    });

    it('answers 404 for revoking an unknown key and 400 for an id that is not a UUID', async () => {
      const unknown = randomUUID();
      expect(expectProblem(await call('DELETE', `/api/v1/api-keys/${unknown}`), 404).detail).toContain(unknown);
      expectProblem(await call('DELETE', '/api/v1/api-keys/not-a-uuid'), 400);
    });

    it('refuses an invalid key body with 400 naming the field', async () => {
      const problem = expectProblem(await call('POST', '/api/v1/api-keys', { body: { name: 'bad', role: 'superuser' } }), 400);
      expect(problem.errors?.map((error) => error.path)).toEqual(['role']);
    });

    it('refuses a key with a higher role than the caller (403)', async () => {
      const before = (await call<ApiKeyView[]>('GET', '/api/v1/api-keys')).body.length;
      const problem = expectProblem(await call('POST', '/api/v1/api-keys', { body: { name: 'escalate', role: 'owner' } }), 403);
      expect(problem.detail).toMatch(/owner/);
      expect((await call<ApiKeyView[]>('GET', '/api/v1/api-keys')).body).toHaveLength(before);
    });

    it('answers requests without a valid key with 401 problem JSON and a Bearer challenge', async () => {
      for (const token of [null, 'ghk_not_a_real_key_at_all_00000000']) {
        const reply = await call('GET', '/api/v1/connections', { token });
        expectProblem(reply, 401);
        expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer realm="gatehouse"/);
      }
    });
  });

  describe('authorization', () => {
    it('gives a member key 403 on creating a connection and on API keys, but lets it read connections', async () => {
      const create = expectProblem(await call('POST', '/api/v1/connections', { token: MEMBER, body: fixtureSpec('by-member') }), 403);
      expect(create.detail).toMatch(/member/);
      expectProblem(await call('POST', '/api/v1/api-keys', { token: MEMBER, body: { name: 'by-member', role: 'member' } }), 403);
      expectProblem(await call('GET', '/api/v1/api-keys', { token: MEMBER }), 403);
      expectProblem(await call('DELETE', `/api/v1/connections/${managedId}`, { token: MEMBER }), 403);
      const read = await call<ConnectionView[]>('GET', '/api/v1/connections', { token: MEMBER });
      expect(read.status).toBe(200);
      expect(read.body.map((connection) => connection.name)).not.toContain('by-member');
    });
  });
});
