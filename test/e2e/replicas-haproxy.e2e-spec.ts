import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { query } from '../support/database';
import { ConfiguredGateway, spawnConfiguredGateway, stopSpawned } from '../support/gateway';
import { connectClient, textOf } from '../support/mcp-client';
import { freePort, RunningServer, startContentHttp } from '../support/servers';
import { waitFor } from '../support/wait';

jest.setTimeout(300_000);

const ADMIN_KEY = 'ghk_test_haproxy_acme_admin_key_001';
const CALLS = 200;

/** Debian's HAProxy, round robin without affinity, in front of the replicas; it names the one that answered. */
function startHaproxy(port: number, replicas: Record<string, string>): { child: ChildProcess; output(): string } {
  const servers = Object.entries(replicas).map(([name, url]) => `  server ${name} ${new URL(url).host} check inter 300 fall 2 rise 2`);
  const config = [
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    // SSE streams stay open for as long as the client keeps them.
    '  timeout client 10m',
    '  timeout server 10m',
    '  timeout tunnel 10m',
    // A connect to a dead replica is retried on the other one.
    '  retries 3',
    '  option redispatch 1',
    'frontend mcp',
    `  bind 127.0.0.1:${port}`,
    '  default_backend replicas',
    'backend replicas',
    '  balance roundrobin',
    '  option httpchk GET /healthz',
    '  http-response set-header X-Replica %s',
    ...servers,
    '',
  ].join('\n');
  const path = join(mkdtempSync(join(tmpdir(), 'gatehouse-haproxy-')), 'haproxy.cfg');
  writeFileSync(path, config);
  const child = spawn('haproxy', ['-f', path, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

describe('two replicas behind HAProxy (round robin, no affinity)', () => {
  let content: RunningServer;
  let replicas: Record<string, ConfiguredGateway & { redisPrefix: string }>;
  let haproxy: { child: ChildProcess; output(): string };
  let proxyUrl: string;
  let client: Client | undefined;
  const marker = join(mkdtempSync(join(tmpdir(), 'gatehouse-haproxy-content-')), 'content.log');
  // The downstream subscribes it received (each replica subscribes on its own downstream session).
  const subscribes = () => (existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter((line) => line === 'subscribe:docs://readme').length : 0);

  beforeAll(async () => {
    content = await startContentHttp({ CONTENT_LABEL: 'shared', CONTENT_MARKER: marker });
    const yaml = `
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN_KEY }
    defaultEffect: allow
    connections:
      - { name: docs, transport: http, url: "${content.url}" }
`;
    const first = await spawnConfiguredGateway(yaml, { ADMIN_KEY });
    const second = await spawnConfiguredGateway(yaml, { ADMIN_KEY }, first);
    replicas = { one: first, two: second };
    const port = await freePort();
    proxyUrl = `http://127.0.0.1:${port}`;
    haproxy = startHaproxy(port, { one: first.baseUrl, two: second.baseUrl });
    await waitFor('HAProxy to see both replicas up', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const response = await fetch(`${proxyUrl}/healthz`).catch(() => null);
        await response?.body?.cancel();
        if (response?.status === 200) seen.add(response.headers.get('x-replica') ?? '');
      }
      return seen.has('one') && seen.has('two');
    });
  });

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    haproxy?.child.kill('SIGTERM');
    await Promise.allSettled(Object.values(replicas ?? {}).map((replica) => stopSpawned(replica.gateway)));
    await content?.stop();
  });

  it('keeps one session through 200 calls across both and a SIGKILL of one, without re-initializing', async () => {
    const answeredBy: Record<string, number> = {};
    let initializes = 0;
    let streamAt: string | null = null;
    const counting: FetchLike = async (url, init) => {
      const body = typeof init?.body === 'string' ? init.body : '';
      if (body.includes('"method":"initialize"')) initializes++;
      const response = await fetch(url, init);
      const replica = response.headers.get('x-replica') ?? 'none';
      answeredBy[replica] = (answeredBy[replica] ?? 0) + 1;
      if (init?.method === 'GET') streamAt = replica;
      return response;
    };
    client = await connectClient(`${proxyUrl}/mcp`, ADMIN_KEY, 'haproxy', { fetch: counting });
    const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId!;
    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => void updates.push(notification.params.uri));
    await client.subscribeResource({ uri: 'docs://docs/readme' });
    // A first update, so that the client's notification stream has an event id to resume from.
    await client.callTool({ name: 'docs_touch', arguments: { uri: 'docs://readme' } });
    await waitFor('the first resource update', () => updates.length === 1);

    // The replica holding the session's notification stream (and so its subscription downstream) dies.
    const victim = streamAt!;
    const survivor = victim === 'one' ? 'two' : 'one';
    const subscribedBefore = subscribes();
    const failures: unknown[] = [];
    for (let i = 0; i < CALLS; i++) {
      if (i === CALLS / 2) replicas[victim]!.gateway.child.kill('SIGKILL');
      try {
        expect(textOf(await client.callTool({ name: 'docs_touch', arguments: { uri: `docs://note-${i}` } }))).toBe(`touched docs://note-${i}`);
      } catch (error) {
        failures.push(error);
      }
    }
    await replicas[victim]!.gateway.exited;

    // At most the call in flight at the kill failed; both replicas served calls before it.
    expect(failures.length).toBeLessThanOrEqual(1);
    expect(answeredBy['one']).toBeGreaterThan(CALLS / 8);
    expect(answeredBy['two']).toBeGreaterThan(CALLS / 8);
    expect(initializes).toBe(1);
    expect((client.transport as StreamableHTTPClientTransport).sessionId).toBe(sessionId);

    // The client's stream reconnects to the survivor (Last-Event-ID), which takes up the subscription downstream.
    await waitFor('the survivor to subscribe downstream', () => subscribes() > subscribedBefore, 30_000);
    expect(answeredBy[survivor]).toBeGreaterThan(CALLS / 2);
    await client.callTool({ name: 'docs_touch', arguments: { uri: 'docs://readme' } });
    await waitFor('the resource update after the kill', () => updates.length === 2, 30_000);
    expect(updates).toEqual(['docs://docs/readme', 'docs://docs/readme']);
    const started = await query(replicas['one']!.databaseUrl, "SELECT 1 FROM audit_records WHERE kind = 'mcp.session.started' AND target->>'id' = $1", [sessionId]);
    expect(started).toHaveLength(1);
  });
});
