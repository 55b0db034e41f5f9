import { createCipheriv, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { apiRequest } from '../support/admin-api';
import { query } from '../support/database';
import { startGateway, TestGateway } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { FIXTURE_SERVER, RunningServer, startFixtureHttp } from '../support/servers';
import { waitFor } from '../support/wait';

// What a connection holds that may be a credential (headers, environment, and the URL and arguments people put
// tokens in) is sealed at rest, bound to its row, and shown whole only to admins.
jest.setTimeout(120_000);

const ADMIN = 'ghk_test_secrets_rest_admin_key_01';
const MEMBER = 'ghk_test_secrets_rest_member_key_2';
const GLOBEX = 'ghk_test_secrets_rest_globex_key_3';
const SECRET_KEY = 'test-secret-key-test-secret-key-0123456789';

const YAML = `
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN }
      - { name: member, role: member, secretEnv: MEMBER }
  - slug: globex
    name: Globex
    apiKeys: [{ name: admin, role: admin, secretEnv: GLOBEX }]
`;
const VARS = { ADMIN, MEMBER, GLOBEX };

interface ConnectionView {
  id: string;
  name: string;
  url: string | null;
  origin: string | null;
  command: string | null;
  args: string[];
  env: Record<string, string>;
}

/** An envelope as Gatehouse sealed secrets before they were bound to their rows (v1). */
function legacyEnvelope(plaintext: string): string {
  const key = Buffer.from(hkdfSync('sha256', SECRET_KEY, 'gatehouse', 'downstream-secrets', 32));
  const iv = randomBytes(12);
  const sealer = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([sealer.update(plaintext, 'utf8'), sealer.final()]);
  return ['v1', iv.toString('base64url'), sealer.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
}

describe('connection credentials at rest', () => {
  let fixtureHttp: RunningServer;
  let gateway: TestGateway;
  const clients: Client[] = [];
  const urlCanary = `url-canary-${randomUUID()}`;
  const argCanary = `arg-canary-${randomUUID()}`;

  const api = <T>(token: string, method: string, path: string, body?: unknown) => apiRequest<T>(gateway.baseUrl, token, method, path, body);
  const connect = async (token: string) => {
    const client = await connectClient(gateway.mcpUrl, token);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    fixtureHttp = await startFixtureHttp();
    gateway = await startGateway({ yaml: YAML, vars: VARS });
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await gateway?.close();
    await fixtureHttp?.stop();
  });

  it('seals URLs and arguments with the credentials, and shows them only to admins', async () => {
    const url = `${fixtureHttp.url}?token=${urlCanary}`;
    const http = await api<ConnectionView>(ADMIN, 'POST', '/api/v1/connections', { name: 'remote', transport: 'http', url });
    const stdio = await api<ConnectionView>(ADMIN, 'POST', '/api/v1/connections', { name: 'local', transport: 'stdio', command: process.execPath, args: [FIXTURE_SERVER, 'stdio', argCanary] });
    expect([http.status, stdio.status]).toEqual([201, 201]);

    const stored = JSON.stringify(await query(gateway.databaseUrl, 'SELECT * FROM connections'));
    expect(stored).not.toContain(urlCanary);
    expect(stored).not.toContain(argCanary);
    const [row] = await query<{ url: string; args: string[] }>(gateway.databaseUrl, `SELECT url, args FROM connections WHERE name = 'remote'`);
    expect(row).toEqual({ url: new URL(fixtureHttp.url).origin, args: [] });

    const asAdmin = (await api<ConnectionView[]>(ADMIN, 'GET', '/api/v1/connections')).body;
    expect(asAdmin.find((view) => view.name === 'remote')).toMatchObject({ url, origin: new URL(fixtureHttp.url).origin });
    expect(asAdmin.find((view) => view.name === 'local')).toMatchObject({ command: process.execPath, args: [FIXTURE_SERVER, 'stdio', argCanary] });
    const asMember = await api<ConnectionView[]>(MEMBER, 'GET', '/api/v1/connections');
    expect(JSON.stringify(asMember.body)).not.toContain(urlCanary);
    expect(JSON.stringify(asMember.body)).not.toContain(argCanary);
    expect(asMember.body.find((view) => view.name === 'remote')).toMatchObject({ url: new URL(fixtureHttp.url).origin, origin: new URL(fixtureHttp.url).origin });
    expect(asMember.body.find((view) => view.name === 'local')).toMatchObject({ command: null, args: [], env: {} });
    expect((await api<ConnectionView>(MEMBER, 'GET', `/api/v1/connections/${http.body.id}`)).body.url).toBe(new URL(fixtureHttp.url).origin);

    // The sealed values are what the gateway uses.
    const admin = await connect(ADMIN);
    await waitFor('both connections’ tools', async () => {
      const names = (await listAllTools(admin)).map((tool) => tool.name);
      return names.includes('remote_echo') && names.includes('local_echo');
    }, 30_000);
    expect(textOf(await admin.callTool({ name: 'remote_echo', arguments: { text: 'via the sealed URL' } }))).toBe('echo: via the sealed URL');
  });

  it('records what a changed connection runs or reaches', async () => {
    const records = await query<{ kind: string; data: { result?: Record<string, unknown> } }>(
      gateway.databaseUrl,
      `SELECT kind, data FROM audit_records WHERE kind LIKE 'admin.connection.%' ORDER BY id`,
    );
    const created = records.filter((record) => record.kind === 'admin.connection.created').map((record) => record.data.result);
    expect(created).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'remote', transport: 'http', origin: new URL(fixtureHttp.url).origin }),
        expect.objectContaining({ name: 'local', transport: 'stdio', command: process.execPath, args: [FIXTURE_SERVER, 'stdio', argCanary] }),
      ]),
    );
    // Where it reaches, not the token in its URL.
    expect(JSON.stringify(records)).not.toContain(urlCanary);

    const [local] = await query<{ id: string }>(gateway.databaseUrl, `SELECT id FROM connections WHERE name = 'local'`);
    expect((await api(ADMIN, 'DELETE', `/api/v1/connections/${local!.id}`)).status).toBe(204);
    const [deleted] = await query<{ data: { result?: Record<string, unknown> } }>(
      gateway.databaseUrl,
      `SELECT data FROM audit_records WHERE kind = 'admin.connection.deleted' ORDER BY id DESC LIMIT 1`,
    );
    expect(deleted!.data.result).toMatchObject({ name: 'local', transport: 'stdio', command: process.execPath });
  });

  it('does not open a sealed secret moved into another organization’s row, nor use it', async () => {
    const globex = await api<ConnectionView>(GLOBEX, 'POST', '/api/v1/connections', { name: 'remote', transport: 'http', url: fixtureHttp.url, enabled: false });
    expect(globex.status).toBe(201);
    // Someone who can write the database but does not hold the key copies Acme's envelope into Globex's row.
    await query(
      gateway.databaseUrl,
      `UPDATE connections SET secrets = (SELECT c.secrets FROM connections c JOIN organizations o ON o.id = c.organization_id WHERE o.slug = 'acme' AND c.name = 'remote'), enabled = true
       WHERE id = $1`,
      [globex.body.id],
    );
    const restarted = await startGateway({ yaml: YAML, vars: VARS, databaseUrl: gateway.databaseUrl });
    try {
      await waitFor('the moved envelope to be refused', async () => {
        const [row] = await query<{ status: string; status_message: string | null }>(gateway.databaseUrl, 'SELECT status, status_message FROM connections WHERE id = $1', [globex.body.id]);
        return row?.status === 'down' && (row.status_message ?? '').includes('cannot be opened');
      }, 30_000);
      const tested = await apiRequest<{ detail: string }>(restarted.baseUrl, GLOBEX, 'POST', `/api/v1/connections/${globex.body.id}/test`);
      expect(tested.status).toBe(409);
      const view = await apiRequest<ConnectionView>(restarted.baseUrl, GLOBEX, 'GET', `/api/v1/connections/${globex.body.id}`);
      expect(JSON.stringify(view.body)).not.toContain(urlCanary);
    } finally {
      await restarted.close();
    }
  });

  it('reseals what earlier versions stored, once, at boot', async () => {
    const [acme] = await query<{ id: string }>(gateway.databaseUrl, `SELECT id FROM organizations WHERE slug = 'acme'`);
    const legacyUrl = `${fixtureHttp.url}?token=${urlCanary}-legacy`;
    // As an earlier version stored it: URL in clear, credentials in a v1 envelope with no binding.
    await query(
      gateway.databaseUrl,
      `INSERT INTO connections (id, organization_id, name, transport, url, args, secrets, updated_at) VALUES (gen_random_uuid(), $1, 'legacy', 'http', $2, '{}', $3, now())`,
      [acme!.id, legacyUrl, legacyEnvelope(JSON.stringify({ env: {}, headers: { 'X-Legacy': 'kept' } }))],
    );
    const restarted = await startGateway({ yaml: YAML, vars: VARS, databaseUrl: gateway.databaseUrl });
    try {
      const [row] = await query<{ url: string; secrets: string }>(gateway.databaseUrl, `SELECT url, secrets FROM connections WHERE name = 'legacy'`);
      expect(row!.url).toBe(new URL(fixtureHttp.url).origin);
      expect(row!.secrets).toMatch(/^v2\./);
      const view = (await apiRequest<ConnectionView[]>(restarted.baseUrl, ADMIN, 'GET', '/api/v1/connections')).body.find((connection) => connection.name === 'legacy');
      expect(view).toMatchObject({ url: legacyUrl });
      const client = await connectClient(restarted.mcpUrl, ADMIN);
      clients.push(client);
      await waitFor('the resealed connection’s tools', async () => (await listAllTools(client)).some((tool) => tool.name === 'legacy_echo'), 30_000);
    } finally {
      await restarted.close();
    }
  });
});
