import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Client as PgClient } from 'pg';
import { ConfigFileError } from '@gatehouse/config';
import { APPLY_LOCK } from '@gatehouse/db';
import { createTestDatabase, query, redisPrefix } from '../support/database';
import { apiRequest } from '../support/admin-api';
import { gatewayEnvironment, spawnGateway, startGateway, startupFailureLine, TestGateway, waitUntilConnected } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { FIXTURE_SERVER, fixtureStdioYaml, RunningServer, startFixtureHttp } from '../support/servers';
import { waitFor } from '../support/wait';

// Longer than the root 60 s: this suite waits on spawned processes and reconnects on a small, shared machine.
jest.setTimeout(180_000);

const ACME_ADMIN = 'ghk_test_config_acme_admin_key_0001';
const ACME_CI = 'ghk_test_config_acme_ci_agent_0002';
const GLOBEX_ADMIN = 'ghk_test_config_globex_admin_0003';

type Row = Record<string, unknown>;

// Everything the file describes, as stored. The runtime status of a connection (status, its message and
// when it changed) is live state the gateway keeps up to date, not something the file applies.
async function snapshot(databaseUrl: string): Promise<Record<string, Row[]>> {
  return {
    organizations: await query(databaseUrl, 'SELECT * FROM organizations ORDER BY slug'),
    users: await query(databaseUrl, 'SELECT * FROM users ORDER BY email'),
    memberships: await query(databaseUrl, 'SELECT * FROM memberships ORDER BY id'),
    api_keys: await query(databaseUrl, 'SELECT * FROM api_keys ORDER BY id'),
    connections: (await query(databaseUrl, 'SELECT * FROM connections ORDER BY id')).map(
      ({ status: _status, status_message: _message, status_changed_at: _changed, secrets, ...row }) => ({
        ...row,
        // The envelope is re-encrypted with a fresh IV whenever it is written, so equality means "not rewritten".
        secrets,
      }),
    ),
  };
}

const api = <T>(gateway: TestGateway, token: string, method: string, path: string, body?: unknown) =>
  apiRequest<T>(gateway.baseUrl, token, method, path, body);

describe('the declarative config file', () => {
  const gateways: TestGateway[] = [];
  const clients: Client[] = [];
  let fixtureHttp: RunningServer;

  const start = async (options: Parameters<typeof startGateway>[0]) => {
    const gateway = await startGateway(options);
    gateways.push(gateway);
    return gateway;
  };
  const stop = async (gateway: TestGateway) => {
    gateways.splice(gateways.indexOf(gateway), 1);
    await gateway.close();
  };

  beforeAll(async () => {
    fixtureHttp = await startFixtureHttp();
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await Promise.allSettled(gateways.map((gateway) => gateway.close()));
    await fixtureHttp?.stop();
  });

  it('changes nothing when the same file is applied twice', async () => {
    const yaml = `
organizations:
  - slug: acme
    name: Acme Corp
    members:
      - { email: Alice@Acme.test, role: admin, name: Alice }
      - { email: carol@acme.test, role: contractor, passwordEnv: CAROL_PASSWORD }
    apiKeys:
      - { name: admin, role: admin, secretEnv: ACME_ADMIN }
      - { name: ci-agent, role: member, access: read_only, secretEnv: ACME_CI }
    connections:
      - ${fixtureStdioYaml('fixture', { FIXTURE_MODE: 'quiet' }, 'maxConcurrency: 4')}
      - { name: remote, transport: http, url: "${fixtureHttp.url}", headers: { Authorization: "Bearer remote-token" }, callTimeoutMs: 5000 }
      - { name: parked, transport: stdio, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(FIXTURE_SERVER)}, stdio], enabled: false }
  - slug: globex
    name: Globex
    members: [{ email: alice@acme.test, role: member }]
    apiKeys: [{ name: admin, role: owner, secretEnv: GLOBEX_ADMIN }]
`;
    const vars = { ACME_ADMIN, ACME_CI, GLOBEX_ADMIN, CAROL_PASSWORD: 'carol-local-password' };
    const first = await start({ yaml, vars });
    await waitUntilConnected(first, ['fixture', 'remote']);
    await stop(first);
    const before = await snapshot(first.databaseUrl);
    expect(before.organizations).toHaveLength(2);
    expect(before.memberships).toHaveLength(3);
    expect(before.api_keys).toHaveLength(3);
    expect(before.connections).toHaveLength(3);
    // Salted, so an unchanged hash shows the second apply verified the password instead of rewriting it.
    expect(before.users.find((user) => user['email'] === 'carol@acme.test')!['password_hash']).toMatch(/^scrypt\$/);

    const second = await start({ yaml, vars, databaseUrl: first.databaseUrl });
    await waitUntilConnected(second, ['fixture', 'remote']);
    await stop(second);
    const after = await snapshot(first.databaseUrl);

    expect(after.organizations).toEqual(before.organizations);
    expect(after.users).toEqual(before.users);
    expect(after.memberships).toEqual(before.memberships);
    expect(after.api_keys).toEqual(before.api_keys);
    expect(after.connections).toEqual(before.connections);
  });

  it('removes what the file created when it is taken out of the file, and only that', async () => {
    const file = (full: boolean) => `
organizations:
  - slug: acme
    name: Acme
    members:
      - { email: alice@acme.test, role: admin }
${full ? '      - { email: bob@acme.test, role: member }' : ''}
    apiKeys:
      - { name: admin, role: admin, secretEnv: ACME_ADMIN }
${full ? '      - { name: ci-agent, role: member, secretEnv: ACME_CI }' : ''}
    connections:
      - { name: kept, transport: stdio, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(FIXTURE_SERVER)}, stdio], enabled: false }
${full ? `      - { name: dropped, transport: stdio, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(FIXTURE_SERVER)}, stdio], enabled: false }` : ''}
${
  full
    ? `  - slug: globex
    name: Globex
    apiKeys: [{ name: admin, role: admin, secretEnv: GLOBEX_ADMIN }]
    connections:
      - { name: globex-tools, transport: stdio, command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(FIXTURE_SERVER)}, stdio], enabled: false }`
    : ''
}
`;
    const vars = { ACME_ADMIN, ACME_CI, GLOBEX_ADMIN };
    const first = await start({ yaml: file(true), vars });
    const made = await api<{ id: string; configManaged: boolean }>(first, ACME_ADMIN, 'POST', '/api/v1/connections', {
      name: 'api-made',
      transport: 'stdio',
      command: process.execPath,
      args: [FIXTURE_SERVER, 'stdio'],
      enabled: false,
    });
    expect(made.body).toMatchObject({ configManaged: false });
    const madeKey = await api<{ id: string; secret: string }>(first, ACME_ADMIN, 'POST', '/api/v1/api-keys', { name: 'api-made-key', role: 'member' });
    expect(madeKey.status).toBe(201);
    const before = await query<{ name: string; id: string }>(first.databaseUrl, 'SELECT name, id FROM connections');
    await stop(first);

    const second = await start({ yaml: file(false), vars, databaseUrl: first.databaseUrl });
    const organizations = await query<{ slug: string }>(second.databaseUrl, 'SELECT slug FROM organizations ORDER BY slug');
    expect(organizations.map((o) => o.slug)).toEqual(['acme']);
    const connections = await query<{ name: string; id: string; config_managed: boolean }>(
      second.databaseUrl,
      'SELECT name, id, config_managed FROM connections ORDER BY name',
    );
    expect(connections.map(({ name, config_managed }) => ({ name, config_managed }))).toEqual([
      { name: 'api-made', config_managed: false },
      { name: 'kept', config_managed: true },
    ]);
    // Survivors are the same rows, not re-created ones.
    for (const row of connections) expect(row.id).toBe(before.find((b) => b.name === row.name)!.id);
    const keys = await query<{ name: string }>(second.databaseUrl, 'SELECT name FROM api_keys ORDER BY name');
    expect(keys.map((k) => k.name)).toEqual(['admin', 'api-made-key']);
    const members = await query<{ email: string }>(
      second.databaseUrl,
      'SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id ORDER BY u.email',
    );
    expect(members.map((m) => m.email)).toEqual(['alice@acme.test']);

    expect((await api(second, ACME_CI, 'GET', '/api/v1/connections')).status).toBe(401);
    expect((await api(second, GLOBEX_ADMIN, 'GET', '/api/v1/connections')).status).toBe(401);
    expect((await api(second, madeKey.body.secret, 'GET', '/api/v1/connections')).status).toBe(200);
    const listed = await api<{ name: string }[]>(second, ACME_ADMIN, 'GET', '/api/v1/connections');
    expect(listed.body.map((c) => c.name)).toEqual(['api-made', 'kept']);
    await stop(second);
  });

  it('keeps a config key revoked through the API revoked when the file is applied again, until the file gives it a new secret', async () => {
    const yaml = `
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: admin, role: admin, secretEnv: ACME_ADMIN }
      - { name: ci-agent, role: member, secretEnv: ACME_CI }
`;
    const first = await start({ yaml, vars: { ACME_ADMIN, ACME_CI } });
    const keys = await api<{ id: string; name: string; configManaged: boolean }[]>(first, ACME_ADMIN, 'GET', '/api/v1/api-keys');
    const ci = keys.body.find((key) => key.name === 'ci-agent')!;
    expect(ci.configManaged).toBe(true);
    expect((await api(first, ACME_ADMIN, 'DELETE', `/api/v1/api-keys/${ci.id}`)).status).toBe(200);
    expect((await api(first, ACME_CI, 'GET', '/api/v1/connections')).status).toBe(401);
    await stop(first);

    const again = await start({ yaml, vars: { ACME_ADMIN, ACME_CI }, databaseUrl: first.databaseUrl });
    expect((await api(again, ACME_CI, 'GET', '/api/v1/connections')).status).toBe(401);
    await stop(again);

    const rotated = 'ghk_test_config_acme_ci_rotated_0009';
    const third = await start({ yaml, vars: { ACME_ADMIN, ACME_CI: rotated }, databaseUrl: first.databaseUrl });
    expect((await api(third, rotated, 'GET', '/api/v1/connections')).status).toBe(200);
    expect((await api(third, ACME_CI, 'GET', '/api/v1/connections')).status).toBe(401);
    const [row] = await query<{ id: string }>(third.databaseUrl, "SELECT id FROM api_keys WHERE name = 'ci-agent'");
    expect(row!.id).toBe(ci.id);
    await stop(third);
  });

  it('substitutes ${ENV} in connection fields', async () => {
    const markerDir = mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
    const port = new URL(fixtureHttp.url).port;
    const gateway = await start({
      yaml: `
organizations:
  - slug: acme
    name: Acme
    apiKeys: [{ name: admin, role: admin, secretEnv: ACME_ADMIN }]
    connections:
      - name: remote
        transport: http
        url: "http://127.0.0.1:\${GH_TEST_FIXTURE_PORT}/mcp"
        headers: { Authorization: "Bearer \${GH_TEST_TOKEN}" }
      - name: local
        transport: stdio
        command: "\${GH_TEST_NODE}"
        args: ["\${GH_TEST_FIXTURE}", stdio]
        env: { FIXTURE_MARKER: "\${GH_TEST_MARKER_DIR}/marker.log" }
`,
      vars: {
        ACME_ADMIN,
        GH_TEST_FIXTURE_PORT: port,
        GH_TEST_TOKEN: 'substituted-token',
        GH_TEST_NODE: process.execPath,
        GH_TEST_FIXTURE: FIXTURE_SERVER,
        GH_TEST_MARKER_DIR: markerDir,
      },
    });
    // As the admin API shows them (the URL and arguments themselves are sealed at rest with the credentials).
    const views = await api<{ name: string; url: string | null; command: string | null; args: string[] }[]>(gateway, ACME_ADMIN, 'GET', '/api/v1/connections');
    expect(views.body.map(({ name, url, command, args }) => ({ name, url, command, args }))).toEqual([
      { name: 'local', url: null, command: process.execPath, args: [FIXTURE_SERVER, 'stdio'] },
      { name: 'remote', url: `http://127.0.0.1:${port}/mcp`, command: null, args: [] },
    ]);
    const client = await connectClient(gateway.mcpUrl, ACME_ADMIN);
    clients.push(client);
    await waitFor('both substituted connections to list their tools', async () => {
      const names = (await listAllTools(client)).map((tool) => tool.name);
      return names.includes('remote_echo') && names.includes('local_echo');
    }, 30_000);
    expect(textOf(await client.callTool({ name: 'remote_echo', arguments: { text: 'via substituted url' } }))).toBe('echo: via substituted url');
    expect(textOf(await client.callTool({ name: 'local_echo', arguments: { text: 'via substituted args' } }))).toBe('echo: via substituted args');
    const marker = join(markerDir, 'marker.log');
    await waitFor('the stdio server to write to the substituted marker path', () => existsSync(marker) && readFileSync(marker, 'utf8').includes('call:echo'));
  });

  it('refuses a file that uses a variable that is not set, before applying anything', async () => {
    expect(process.env.GH_TEST_NEVER_SET).toBeUndefined();
    const databaseUrl = await createTestDatabase();
    const attempt = start({
      databaseUrl,
      yaml: `
organizations:
  - slug: acme
    name: Acme
    connections:
      - { name: remote, transport: http, url: "https://example.test/mcp", headers: { Authorization: "Bearer \${GH_TEST_NEVER_SET}" } }
`,
    });
    await expect(attempt).rejects.toBeInstanceOf(ConfigFileError);
    await expect(attempt).rejects.toMatchObject({
      file: 'test.yaml',
      path: 'organizations[0].connections[0].headers.Authorization',
      problem: 'environment variable GH_TEST_NEVER_SET is not set',
    });
    expect(await query(databaseUrl, 'SELECT id FROM organizations')).toEqual([]);
  });

  describe('a broken file stops the gateway process at start-up', () => {
    let databaseUrl: string;
    const directory = mkdtempSync(join(tmpdir(), 'gatehouse-broken-'));
    const valid = `
organizations:
  - slug: first
    name: First
    apiKeys: [{ name: admin, role: admin, secretEnv: GH_TEST_FIRST_KEY }]
    connections:
      - { name: ok, transport: http, url: "https://example.test/mcp" }
`;
    beforeAll(async () => {
      databaseUrl = await createTestDatabase();
    });

    const cases: { title: string; yaml: string; path: string; problem: RegExp }[] = [
      {
        title: 'an unknown field',
        yaml: `${valid}  - slug: second
    name: Second
    connections:
      - { name: tools, transport: http, url: "https://example.test/mcp", colour: blue }
`,
        path: 'organizations[1].connections[0]',
        problem: /unknown field colour/,
      },
      {
        title: 'a connection name with "_"',
        yaml: `${valid}  - slug: second
    name: Second
    connections:
      - { name: my_tools, transport: http, url: "https://example.test/mcp" }
`,
        path: 'organizations[1].connections[0].name',
        problem: /no "_"/,
      },
      {
        title: 'a YAML syntax error',
        yaml: `${valid}  - slug: second
    name: [unclosed
`,
        // The parser reports where it noticed the problem: the end of the unclosed flow sequence.
        path: 'line 10:1',
        problem: /Flow sequence in block collection must be sufficiently indented and end with a \]/,
      },
      {
        title: 'a ${VAR} that is not set',
        yaml: `${valid}  - slug: second
    name: Second
    connections:
      - { name: tools, transport: http, url: "https://\${GH_TEST_MISSING_HOST}/mcp" }
`,
        path: 'organizations[1].connections[0].url',
        problem: /environment variable GH_TEST_MISSING_HOST is not set/,
      },
      {
        title: 'an API key whose secretEnv is not set',
        yaml: `${valid}  - slug: second
    name: Second
    apiKeys: [{ name: ci, role: member, secretEnv: GH_TEST_MISSING_KEY }]
`,
        path: 'organizations[1].apiKeys[0].secretEnv',
        problem: /environment variable GH_TEST_MISSING_KEY is not set/,
      },
    ];

    it.each(cases)('$title: exit code ≠ 0, one line naming the file, the path and the problem; nothing applied', async ({ title, yaml, path, problem }) => {
      const file = join(directory, `${title.replace(/[^a-z]+/gi, '-')}.yaml`);
      writeFileSync(file, yaml);
      const gateway = spawnGateway({
        ...gatewayEnvironment({ databaseUrl, redisPrefix: redisPrefix() }),
        GATEHOUSE_CONFIG: file,
        GH_TEST_FIRST_KEY: 'ghk_test_config_first_key_000001',
      });
      const line = await startupFailureLine(gateway);
      expect(line.startsWith(`gatehouse: ${file}: ${path}: `)).toBe(true);
      expect(line).toMatch(problem);
      expect(await query(databaseUrl, 'SELECT slug FROM organizations')).toEqual([]);
      expect(await query(databaseUrl, 'SELECT id FROM connections')).toEqual([]);
    });

    it('a file that does not exist: exit code ≠ 0 and one line naming the file', async () => {
      const file = join(directory, 'missing.yaml');
      const gateway = spawnGateway({ ...gatewayEnvironment({ databaseUrl, redisPrefix: redisPrefix() }), GATEHOUSE_CONFIG: file });
      expect(await startupFailureLine(gateway)).toBe(`gatehouse: ${file}: cannot be read (ENOENT)`);
    });
  });

  // A replica stuck half-way through applying the file (or one applying it on a very slow database) holds the
  // apply lock: the next one to start must give up with one line, not wait for ever.
  it('stops with one line and applies nothing when another process holds the apply lock past GATEHOUSE_DB_LOCK_TIMEOUT_MS', async () => {
    const databaseUrl = await createTestDatabase();
    const file = join(mkdtempSync(join(tmpdir(), 'gatehouse-locked-')), 'gatehouse.yaml');
    writeFileSync(file, 'organizations:\n  - slug: locked\n    name: Locked\n');
    const holder = new PgClient({ connectionString: databaseUrl });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [APPLY_LOCK]);
      const gateway = spawnGateway({
        ...gatewayEnvironment({ databaseUrl, redisPrefix: redisPrefix() }),
        GATEHOUSE_CONFIG: file,
        GATEHOUSE_MIGRATE: 'false',
        GATEHOUSE_DB_LOCK_TIMEOUT_MS: '1000',
      });
      const line = await startupFailureLine(gateway);
      expect(line).toMatch(new RegExp(`^gatehouse: Could not apply ${file}: another process held the config file's apply lock \\(PostgreSQL advisory lock ${APPLY_LOCK}\\) for more than 1000 ms; nothing was applied\\.`));
      expect(await query(databaseUrl, 'SELECT slug FROM organizations')).toEqual([]);
    } finally {
      await holder.end();
    }
  });
});
