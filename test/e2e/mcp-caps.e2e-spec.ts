import { createHash } from 'node:crypto';
import { canonicalJson } from '@gatehouse/config';
import { connectionHealth } from '../support/admin-api';
import { query } from '../support/database';
import { startGateway, TestGateway, waitUntilConnected } from '../support/gateway';
import { TEST_PLATFORM } from '../support/platform';
import { INITIALIZE, JsonRpcError, postMcp, RawSession, toolCall } from '../support/raw-mcp';
import { fixtureStdioYaml } from '../support/servers';
import { waitFor } from '../support/wait';

// Gateways with stdio servers, and multi-megabyte calls, on 2 shared cores.
jest.setTimeout(180_000);

const KEYS = {
  admin: 'ghk_test_caps_admin_key_0000000001',
  alice: 'ghk_test_caps_alice_key_0000000002',
  bob: 'ghk_test_caps_bob_key_000000000003',
  carol: 'ghk_test_caps_carol_key_0000000004',
};
const LIMITS = { sessionsPerCredential: 2, sessionsPerOrganization: 3, inFlightCallsPerCredential: 2, inFlightCallsPerOrganization: 3 };
const ARGUMENTS_MAX_BYTES = 64 * 1024;
const yaml = `
platform: ${JSON.stringify({ ...TEST_PLATFORM, limits: LIMITS })}
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN }
      - { name: alice, role: member, secretEnv: ALICE }
      - { name: bob, role: member, secretEnv: BOB }
    connections:
      - ${fixtureStdioYaml('fx')}
  - slug: beta
    name: Beta
    apiKeys:
      - { name: carol, role: member, secretEnv: CAROL }
    connections:
      - ${fixtureStdioYaml('fx')}
`;
const VARS = { ADMIN: KEYS.admin, ALICE: KEYS.alice, BOB: KEYS.bob, CAROL: KEYS.carol };

interface AuditRow extends Record<string, unknown> {
  kind: string;
  outcome: string | null;
  data: Record<string, unknown> & { arguments?: unknown; limit?: unknown };
  bytes: number;
}

const json = async <T>(response: Response) => (await response.json()) as T;

// platform.limits.sessions* and inFlightCalls*: what one credential or organization may hold at once in a gateway
// process. Past a cap the new session or call is refused at once with 429, saying which cap and how to free it, while
// other credentials are served; a slot comes back when its session ends or its call's response is done.
describe('session and in-flight caps per credential and organization', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway({ yaml, vars: VARS });
    await waitUntilConnected(gateway, ['fx']);
  });

  afterAll(async () => {
    await gateway?.close();
  });

  const inFlight = async () => (await connectionHealth<{ name: string; inFlight: number }>(gateway.baseUrl, KEYS.admin, 'fx')).inFlight;
  const records = (key: string, where: string) =>
    query<AuditRow>(
      gateway.databaseUrl,
      `SELECT kind, outcome, data, octet_length(data::text) AS bytes FROM audit_records WHERE actor->>'name' = $1 AND ${where} ORDER BY id`,
      [key],
    );

  it('refuses the session past a credential\'s or the organization\'s cap with 429, serves another credential, and takes one again once a session is deleted', async () => {
    const alice = [await RawSession.open(gateway.mcpUrl, KEYS.alice), await RawSession.open(gateway.mcpUrl, KEYS.alice)];
    const refused = await postMcp(gateway.mcpUrl, KEYS.alice, INITIALIZE);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('mcp-session-id')).toBeNull();
    expect(await json<JsonRpcError>(refused)).toEqual({
      jsonrpc: '2.0',
      id: 1,
      error: {
        code: -32000,
        message:
          'Too many open MCP sessions for this credential: at most 2 on this gateway (platform.limits.sessionsPerCredential). Close sessions you ' +
          'no longer use (HTTP DELETE /mcp with their Mcp-Session-Id); a session is closed after 1800 s without a request.',
        data: { limit: 'sessionsPerCredential' },
      },
    });

    const bob = [await RawSession.open(gateway.mcpUrl, KEYS.bob)];
    const organizationFull = await postMcp(gateway.mcpUrl, KEYS.bob, INITIALIZE);
    expect(organizationFull.status).toBe(429);
    expect((await json<JsonRpcError>(organizationFull)).error).toMatchObject({
      message: expect.stringMatching(/^Too many open MCP sessions in this organization: at most 3 on this gateway \(platform\.limits\.sessionsPerOrganization\)/),
      data: { limit: 'sessionsPerOrganization' },
    });
    // Another organization is not counted.
    const carol = await RawSession.open(gateway.mcpUrl, KEYS.carol);

    expect(await alice[0]!.close()).toBe(200);
    bob.push(await RawSession.open(gateway.mcpUrl, KEYS.bob));
    expect((await bob[1]!.call(1, 'fx_echo', { text: 'in the freed slot' })).status).toBe(200);
    expect(await Promise.all([alice[1]!, ...bob, carol].map((session) => session.close()))).toEqual([200, 200, 200, 200]);
    // Every slot is back.
    const again = await Promise.all([KEYS.alice, KEYS.alice, KEYS.bob].map((key) => RawSession.open(gateway.mcpUrl, key)));
    await Promise.all(again.map((session) => session.close()));
  });

  it('refuses the call past a credential\'s or the organization\'s calls in flight at once, and gives the slot back when the client goes away or the call ends', async () => {
    const alice = await RawSession.open(gateway.mcpUrl, KEYS.alice);
    const bob = await RawSession.open(gateway.mcpUrl, KEYS.bob);
    const leaving = new AbortController();
    const aliceSlow = [alice.call('a-1', 'fx_slow', { ms: 5_000 }, leaving.signal), alice.call('a-2', 'fx_slow', { ms: 5_000 })];
    await waitFor('alice\'s two calls in flight', async () => (await inFlight()) === 2);

    const refused = await alice.call('a-3', 'fx_echo', { text: 'one too many' });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('mcp-session-id')).toBe(alice.id);
    expect(await json<JsonRpcError>(refused)).toEqual({
      jsonrpc: '2.0',
      id: 'a-3',
      error: {
        code: -32000,
        message:
          'Too many tool calls in flight for this credential: at most 2 at once on this gateway (platform.limits.inFlightCallsPerCredential). ' +
          'Wait for a call to finish, or cancel one, then retry.',
        data: { limit: 'inFlightCallsPerCredential', retryAfterSeconds: 1 },
      },
    });
    // A batch goes to the SDK's transport, and is admitted there the same way; refused, none of its requests runs.
    const batch = await alice.post([toolCall('b-1', 'fx_echo', { text: 'x' }), { jsonrpc: '2.0', id: 'l-1', method: 'tools/list' }, toolCall('b-2', 'fx_echo', { text: 'y' })]);
    expect(batch.status).toBe(429);
    expect((await json<JsonRpcError[]>(batch)).map((error) => [error.id, error.error.data?.['limit']])).toEqual([
      ['b-1', 'inFlightCallsPerCredential'],
      ['l-1', 'inFlightCallsPerCredential'],
      ['b-2', 'inFlightCallsPerCredential'],
    ]);

    // Bob is served beside alice, until the organization holds three.
    expect((await bob.call('b-echo', 'fx_echo', { text: 'served' })).status).toBe(200);
    const bobSlow = bob.call('b-slow', 'fx_slow', { ms: 5_000 });
    await waitFor('three calls in flight', async () => (await inFlight()) === 3);
    const organizationFull = await bob.call('b-3', 'fx_echo', { text: 'over the organization' });
    expect(organizationFull.status).toBe(429);
    expect((await json<JsonRpcError>(organizationFull)).error.data).toEqual({ limit: 'inFlightCallsPerOrganization', retryAfterSeconds: 1 });

    // Alice hangs up on one call: its slot is back at once, long before the downstream would have answered.
    leaving.abort();
    await expect(aliceSlow[0]).rejects.toThrow();
    await waitFor('the abandoned call to be cancelled downstream', async () => (await inFlight()) === 2);
    expect((await alice.call('a-4', 'fx_echo', { text: 'after hanging up' })).status).toBe(200);

    // Once the calls have answered, every slot is back: a batch of two runs.
    expect((await Promise.all([aliceSlow[1]!, bobSlow])).map((response) => response.status)).toEqual([200, 200]);
    const batched = await alice.post([toolCall('b-3', 'fx_echo', { text: 'batched 1' }), toolCall('b-4', 'fx_echo', { text: 'batched 2' })]);
    expect(batched.status).toBe(200);
    expect(await batched.text()).toMatch(/echo: batched 1[\s\S]*echo: batched 2|echo: batched 2[\s\S]*echo: batched 1/);

    // The first refusal of each credential is recorded; the batch's, in the same minute, only counted.
    const aliceRefusals = await records('alice', "outcome = 'throttled'");
    expect(aliceRefusals.map((row) => row.data['limit'])).toEqual([{ name: 'inFlightCallsPerCredential', retryAfterSeconds: 1 }]);
    const bobRefusals = await records('bob', "outcome = 'throttled'");
    expect(bobRefusals.map((row) => row.data['limit'])).toEqual([{ name: 'inFlightCallsPerOrganization', retryAfterSeconds: 1 }]);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('records a call\'s 3 MiB arguments truncated with the hash of them whole, a call refused by a cap too', async () => {
    const carol = await RawSession.open(gateway.mcpUrl, KEYS.carol);
    const args = { text: 'x'.repeat(3 * 1024 * 1024) };
    const truncated = {
      truncated: true,
      originalBytes: Buffer.byteLength(JSON.stringify(args)),
      sha256: createHash('sha256').update(canonicalJson(args)).digest('hex'),
      prefix: expect.stringMatching(/^\{"text":"x+$/),
    };

    const echoed = await carol.call('big-1', 'fx_echo', args);
    expect(echoed.status).toBe(200);
    expect((await echoed.text()).length).toBeGreaterThan(args.text.length);
    const served = await waitFor('the served call\'s records', async () => {
      const rows = await records('carol', "kind LIKE 'tools.call.%'");
      return rows.length === 2 ? rows : null;
    });
    expect(served.map((row) => [row.kind, row.outcome])).toEqual([['tools.call.request', null], ['tools.call.outcome', 'ok']]);
    expect(served[0]!.data.arguments).toEqual(truncated);
    expect(served[0]!.bytes).toBeLessThanOrEqual(ARGUMENTS_MAX_BYTES + 1024);

    const slow = [carol.call('s-1', 'fx_slow', { ms: 3_000 }), carol.call('s-2', 'fx_slow', { ms: 3_000 })];
    await waitFor('carol\'s two calls to be running', async () => (await records('carol', "kind = 'tools.call.request'")).length === 3);
    const refused = await carol.call('big-2', 'fx_echo', args);
    expect(refused.status).toBe(429);
    // The refusal is answered at once and recorded after it (ThrottledCallAudit): wait for the records.
    const [request, outcome] = await waitFor('the refused call\'s records', async () => {
      const rows = await records('carol', "call_id = (SELECT call_id FROM audit_records WHERE outcome = 'throttled' AND actor->>'name' = 'carol')");
      return rows.length === 2 ? rows : null;
    });
    expect(request!.data.arguments).toEqual(truncated);
    expect(request!.bytes).toBeLessThanOrEqual(ARGUMENTS_MAX_BYTES + 1024);
    expect(outcome).toMatchObject({ kind: 'tools.call.outcome', outcome: 'throttled', data: { limit: { name: 'inFlightCallsPerCredential' } } });
    await Promise.all(slow);
    await carol.close();
  });
});

describe('sessions closed as idle', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway({ yaml, vars: VARS, env: { GATEHOUSE_SESSION_IDLE_SECONDS: '10' } });
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('gives their slots back', async () => {
    const idle = await Promise.all([RawSession.open(gateway.mcpUrl, KEYS.alice), RawSession.open(gateway.mcpUrl, KEYS.alice)]);
    await waitFor(
      'both sessions to be closed as idle',
      async () => {
        const ended = await query<{ id: string }>(
          gateway.databaseUrl,
          "SELECT target->>'id' AS id FROM audit_records WHERE kind = 'mcp.session.ended' AND data->>'reason' = 'idle'",
        );
        return idle.every((session) => ended.some((row) => row.id === session.id));
      },
      60_000,
      500,
    );
    const again = await Promise.all([RawSession.open(gateway.mcpUrl, KEYS.alice), RawSession.open(gateway.mcpUrl, KEYS.alice)]);
    expect(again.map((session) => session.id)).not.toContain(idle[0]!.id);
    await Promise.all(again.map((session) => session.close()));
  });
});
