import { existsSync, mkdtempSync } from 'node:fs';
import { createServer as createHttpServer, Server as HttpServer } from 'node:http';
import { AddressInfo, createServer as createTcpServer, Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { apiRequest } from '../support/admin-api';
import { query } from '../support/database';
import { insertPersonalKey } from '../support/personal-key';
import { startGateway, TestGateway, waitUntilConnected } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { EVERYTHING, FIXTURE_SERVER, fixtureStdioYaml, RunningServer, startEverythingHttp } from '../support/servers';
import { waitFor } from '../support/wait';

// What an organization admin can configure must not reach the gateway's host or the network beyond the egress
// policy (DESIGN.md, trust boundaries). Every attack here is made for real against a running gateway.
jest.setTimeout(120_000);

const ADMIN = 'ghk_test_operator_boundary_admin_01';
const OTHER_ADMIN = 'ghk_test_operator_boundary_other_02';

/** A loopback TCP listener that counts every connection made to it: the attacks' target, which must see nothing. */
class Canary {
  connections = 0;
  private constructor(
    private readonly server: TcpServer | HttpServer,
    readonly port: number,
  ) {}

  static async tcp(): Promise<Canary> {
    const server = createTcpServer((socket) => socket.destroy());
    return Canary.listen(server);
  }

  static async http(): Promise<Canary> {
    const server = createHttpServer((_request, response) => response.end('{"secret":"canary"}'));
    return Canary.listen(server);
  }

  private static async listen(server: TcpServer | HttpServer): Promise<Canary> {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const canary = new Canary(server, (server.address() as AddressInfo).port);
    server.on('connection', () => canary.connections++);
    return canary;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const OPERATOR = { email: 'ops@platform.test', key: 'ghk_test_operator_boundary_ops_key3' };

const yaml = (extraConnections = '') => `
organizations:
  - slug: tenant
    name: Tenant
    # The deployment's operator is an ordinary member here; what they may do beyond that comes from the platform section.
    members: [{ email: ${OPERATOR.email}, role: member }]
    apiKeys: [{ name: admin, role: admin, secretEnv: ADMIN }]
    connections:
      - ${fixtureStdioYaml('operator-made')}${extraConnections}
  - slug: neighbour
    name: Neighbour
    apiKeys: [{ name: admin, role: admin, secretEnv: OTHER_ADMIN }]
`;
const vars = { ADMIN, OTHER_ADMIN };

describe('the operator boundary', () => {
  let marker: string;
  const clients: Client[] = [];
  const gateways: TestGateway[] = [];

  const start = async (platform: object, extraConnections = '') => {
    const gateway = await startGateway({ yaml: yaml(extraConnections), vars, platform });
    gateways.push(gateway);
    return gateway;
  };
  const connect = async (gateway: TestGateway, key = ADMIN) => {
    const client = await connectClient(gateway.mcpUrl, key);
    clients.push(client);
    return client;
  };

  beforeAll(() => {
    marker = join(mkdtempSync(join(tmpdir(), 'gatehouse-boundary-')), 'ran');
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await Promise.allSettled(gateways.map((gateway) => gateway.close()));
  });

  describe('stdio commands', () => {
    let gateway: TestGateway;

    beforeAll(async () => {
      // The operator allows the fixture server, with one environment variable, and nothing else.
      gateway = await start({ stdio: { commands: [{ command: process.execPath, args: [FIXTURE_SERVER, 'stdio'], env: ['FIXTURE_MODE'] }] } });
    });

    // A shell that would leave a file behind: the proof that nothing ran is that the file never appears.
    const hostile = (name: string, extra: Record<string, unknown> = {}) => ({
      name,
      transport: 'stdio',
      command: '/bin/sh',
      args: ['-c', `touch ${marker}`],
      ...extra,
    });

    it('refuses an organization admin’s command through the admin API, naming the rule, and runs nothing', async () => {
      const reply = await apiRequest<{ detail: string }>(gateway.baseUrl, ADMIN, 'POST', '/api/v1/connections', hostile('shell'));
      expect(reply.status).toBe(403);
      expect(reply.body.detail).toContain('only the deployment operator defines them');
      expect(reply.body.detail).toContain('platform.stdio.commands');
      // An allowed executable with other arguments, a working directory, or an environment the operator did not allow.
      for (const spec of [
        { ...hostile('node-eval'), command: process.execPath, args: ['-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`] },
        { ...hostile('cwd'), command: process.execPath, args: [FIXTURE_SERVER, 'stdio'], cwd: '/' },
        { ...hostile('preload'), command: process.execPath, args: [FIXTURE_SERVER, 'stdio'], env: { NODE_OPTIONS: `--require ${marker}` } },
      ]) {
        const refused = await apiRequest<{ detail: string }>(gateway.baseUrl, ADMIN, 'POST', '/api/v1/connections', spec);
        expect(refused.status).toBe(403);
        expect(refused.body.detail).toContain('platform.stdio.commands');
      }
      const stored = await query(gateway.databaseUrl, `SELECT name FROM connections WHERE config_managed = false`);
      expect(stored).toEqual([]);
      expect(existsSync(marker)).toBe(false);
    });

    it('refuses it through gatehouse_create_connection too, and records the attempt', async () => {
      const client = await connect(gateway);
      const result = await client.callTool({ name: 'gatehouse_create_connection', arguments: hostile('via-tool') });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain('platform.stdio.commands');
      expect(existsSync(marker)).toBe(false);
      await waitFor('the refused call in the audit log', async () => {
        const rows = await query<{ outcome: string }>(
          gateway.databaseUrl,
          `SELECT outcome FROM audit_records WHERE kind = 'tools.call.outcome' AND target->>'tool' = 'gatehouse_create_connection'`,
        );
        return rows.some((row) => row.outcome !== 'ok');
      });
    });

    it('runs the operator’s allowlisted command for an organization admin', async () => {
      const reply = await apiRequest<{ id: string }>(gateway.baseUrl, ADMIN, 'POST', '/api/v1/connections', {
        name: 'allowed',
        transport: 'stdio',
        command: process.execPath,
        args: [FIXTURE_SERVER, 'stdio'],
        env: { FIXTURE_MODE: 'quiet' },
      });
      expect(reply.status).toBe(201);
      const client = await connect(gateway);
      await waitFor('the allowed connection’s tools', async () => (await listAllTools(client)).some((tool) => tool.name === 'allowed_echo'));
      const echoed = await client.callTool({ name: 'allowed_echo', arguments: { text: 'hi' } });
      expect(textOf(echoed)).toBe('echo: hi');
    });

    it('runs the config file’s stdio connections as before, though no rule lists them', async () => {
      await waitUntilConnected(gateway, ['operator-made']);
      const tools = await listAllTools(await connect(gateway));
      expect(tools.map((tool) => tool.name)).toContain('operator-made_echo');
    });

    it('does not start a stored admin-made command the operator’s list does not allow', async () => {
      const [tenant] = await query<{ id: string }>(gateway.databaseUrl, `SELECT id FROM organizations WHERE slug = 'tenant'`);
      // As an older version would have stored it: straight into the table.
      await query(
        gateway.databaseUrl,
        `INSERT INTO connections (id, organization_id, name, transport, command, args, updated_at) VALUES (gen_random_uuid(), $1, 'legacy', 'stdio', '/bin/sh', ARRAY['-c', $2], now())`,
        [tenant!.id, `touch ${marker}`],
      );
      const restarted = await startGateway({ yaml: yaml(), vars, databaseUrl: gateway.databaseUrl, platform: { stdio: { commands: [] } } });
      gateways.push(restarted);
      await waitUntilConnected(restarted, ['operator-made']);
      const [legacy] = await query<{ status: string; status_message: string }>(gateway.databaseUrl, `SELECT status, status_message FROM connections WHERE name = 'legacy'`);
      expect(legacy).toMatchObject({ status: 'down', status_message: expect.stringContaining('platform.stdio.commands') });
      expect(existsSync(marker)).toBe(false);
    });
  });

  describe('egress', () => {
    let gateway: TestGateway;
    let tcp: Canary;
    let http: Canary;

    beforeAll(async () => {
      tcp = await Canary.tcp();
      http = await Canary.http();
      // The product's default: public addresses only. The operator's own file names a loopback server too: one
      // egress policy for every request, whoever configured it.
      gateway = await start({}, `\n      - { name: file-made, transport: http, url: "http://127.0.0.1:${http.port}/mcp" }`);
    });

    afterAll(async () => {
      await tcp?.close();
      await http?.close();
    });

    const targets = () => [
      `http://127.0.0.1:${http.port}/mcp`,
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/mcp',
      `http://localhost:${http.port}/mcp`,
      `http://[::ffff:127.0.0.1]:${http.port}/mcp`,
    ];

    it('refuses HTTP and SSE connections aimed at loopback, link-local and private addresses before any packet is sent', async () => {
      for (const url of targets()) {
        for (const transport of ['http', 'sse']) {
          const reply = await apiRequest<{ detail: string }>(gateway.baseUrl, ADMIN, 'POST', '/api/v1/connections', { name: 'probe', transport, url });
          expect({ url, status: reply.status }).toEqual({ url, status: 403 });
          expect(reply.body.detail).toMatch(/(loopback|link-local|private-network) address.*platform\.egress\.allow/);
        }
      }
      expect(http.connections).toBe(0);
    });

    it('keeps even the config file’s connection from connecting there, saying why, with no packet sent', async () => {
      await waitFor('the refused connection to be down', async () => {
        const health = await apiRequest<{ name: string; status: string; lastError: string | null }[]>(gateway.baseUrl, ADMIN, 'GET', '/api/v1/connections/health');
        const row = health.body.find((connection) => connection.name === 'file-made');
        return row?.status === 'down' && (row.lastError ?? '').includes('127.0.0.1 is a loopback address');
      });
      expect(http.connections).toBe(0);
    });

    it('refuses audit sinks aimed there (syslog, Splunk HEC, webhook)', async () => {
      const sinks = [
        { name: 'syslog', type: 'syslog', host: '127.0.0.1', port: tcp.port },
        { name: 'syslog-name', type: 'syslog', host: 'localhost', port: tcp.port, tls: true },
        { name: 'metadata', type: 'syslog', host: '169.254.169.254', port: 514 },
        { name: 'hec', type: 'splunk_hec', url: `http://127.0.0.1:${http.port}`, token: 'hec-token' },
        { name: 'hook', type: 'webhook', url: `http://localhost:${http.port}/hook`, secret: 'whsec_0123456789abcdef0123456789' },
        { name: 'private', type: 'webhook', url: 'http://10.0.0.1/hook', secret: 'whsec_0123456789abcdef0123456789' },
      ];
      for (const sink of sinks) {
        const reply = await apiRequest<{ detail: string }>(gateway.baseUrl, ADMIN, 'POST', '/api/v1/audit/sinks', sink);
        expect({ sink: sink.name, status: reply.status }).toEqual({ sink: sink.name, status: 400 });
        expect(reply.body.detail).toContain('platform.egress.allow');
      }
      expect(await query(gateway.databaseUrl, 'SELECT name FROM audit_sinks')).toEqual([]);
      expect(tcp.connections + http.connections).toBe(0);
    });

    it('refuses identity providers whose issuer is there', async () => {
      for (const issuer of [`http://127.0.0.1:${http.port}`, `http://localhost:${http.port}`, 'https://169.254.169.254', 'https://10.0.0.1']) {
        const reply = await apiRequest<{ detail: string }>(gateway.baseUrl, ADMIN, 'PUT', '/api/v1/identity-provider', {
          issuer,
          clientId: 'gatehouse',
          clientSecret: 'secret',
          allowedDomains: ['tenant.test'],
        });
        expect({ issuer, status: reply.status }).toEqual({ issuer, status: 400 });
        expect(reply.body.detail).toContain('platform.egress.allow');
      }
      expect(http.connections).toBe(0);
    });
  });

  describe('the deployment operator', () => {
    it('reads the platform section through the API, which no organization role can', async () => {
      const platform = { operators: [OPERATOR.email], egress: { allow: ['10.20.0.0/16'] }, stdio: { commands: [{ command: '/opt/mcp/server', args: ['--stdio'] }] } };
      const gateway = await start(platform);
      await insertPersonalKey(gateway.databaseUrl, { organization: 'tenant', email: OPERATOR.email, secret: OPERATOR.key, role: 'member' });
      const read = await apiRequest<{ egress: { allow: string[] }; stdio: { commands: { command: string }[] }; limits: Record<string, unknown> }>(
        gateway.baseUrl,
        OPERATOR.key,
        'GET',
        '/api/v1/platform',
      );
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ egress: { allow: ['10.20.0.0/16'] }, stdio: { commands: [{ command: '/opt/mcp/server' }] } });
      expect(read.body.limits).toHaveProperty('sessionsPerCredential');
      // An organization admin, or the admin of the other organization, is not the operator.
      for (const key of [ADMIN, OTHER_ADMIN]) expect((await apiRequest(gateway.baseUrl, key, 'GET', '/api/v1/platform')).status).toBe(403);
    });
  });

  describe('an operator-allowlisted internal host', () => {
    let everything: RunningServer;
    let gateway: TestGateway;

    beforeAll(async () => {
      everything = await startEverythingHttp();
      // Allowed by name: the name reaches its loopback address; the address by itself does not.
      gateway = await start({ egress: { allow: ['localhost'] } });
    });

    afterAll(async () => {
      await everything?.stop();
    });

    it('is reachable by an organization admin’s connection', async () => {
      const url = everything.url.replace('127.0.0.1', 'localhost');
      const reply = await apiRequest(gateway.baseUrl, ADMIN, 'POST', '/api/v1/connections', { name: 'internal', transport: 'http', url });
      expect(reply.status).toBe(201);
      const client = await connect(gateway);
      await waitFor('the internal connection’s tools', async () => (await listAllTools(client)).some((tool) => tool.name === 'internal_echo'));
      expect(textOf(await client.callTool({ name: 'internal_echo', arguments: { message: 'inside' } }))).toContain('inside');
    });

    it('is not reachable through an address or name the operator did not list', async () => {
      const reply = await apiRequest<{ detail: string }>(gateway.baseUrl, ADMIN, 'POST', '/api/v1/connections', { name: 'by-address', transport: 'http', url: everything.url });
      expect(reply.status).toBe(403);
      expect(reply.body.detail).toContain('127.0.0.1 is a loopback address');
    });

    it('keeps server-everything’s own stdio transport out of an organization’s reach', async () => {
      const reply = await apiRequest<{ detail: string }>(gateway.baseUrl, OTHER_ADMIN, 'POST', '/api/v1/connections', {
        name: 'everything',
        transport: 'stdio',
        command: process.execPath,
        args: [EVERYTHING, 'stdio'],
      });
      expect(reply.status).toBe(403);
    });
  });
});
