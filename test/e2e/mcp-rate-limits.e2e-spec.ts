import Redis from 'ioredis';
import { apiRequest } from '../support/admin-api';
import { createTestDatabase, query, redisPrefix } from '../support/database';
import { startGateway, TestGateway, waitUntilConnected } from '../support/gateway';
import { TEST_PLATFORM } from '../support/platform';
import { JsonRpcError, RawSession } from '../support/raw-mcp';
import { fixtureStdioYaml } from '../support/servers';
import { REDIS_URL } from '../support/test-run';
import { waitFor } from '../support/wait';

// Two gateways and their stdio servers on 2 shared cores, then a thousand calls at once.
jest.setTimeout(180_000);

const KEYS = {
  flood: 'ghk_test_ratelimits_flood_key_00001',
  other: 'ghk_test_ratelimits_other_key_00002',
  api: 'ghk_test_ratelimits_api_key_0000003',
  apiOther: 'ghk_test_ratelimits_api_other_key_04',
  holder: 'ghk_test_ratelimits_holder_key_00005',
};
const PER_CREDENTIAL = 200;
const PER_ORGANIZATION = 5_000;
const LIMITS = {
  // The calls in flight are not what this suite is about: room for the whole flood.
  inFlightCallsPerCredential: 1_000,
  inFlightCallsPerOrganization: 2_000,
  toolCallsPerCredential: { requests: PER_CREDENTIAL, windowSeconds: 60 },
  toolCallsPerOrganization: { requests: PER_ORGANIZATION, windowSeconds: 60 },
  apiRequestsPerCredential: { requests: 5, windowSeconds: 60 },
};
const yaml = `
platform: ${JSON.stringify({ ...TEST_PLATFORM, limits: LIMITS })}
organizations:
  - slug: acme
    name: Acme
    apiKeys:
      - { name: flood, role: member, secretEnv: FLOOD }
      - { name: other, role: member, secretEnv: OTHER }
      - { name: api, role: admin, secretEnv: API }
      - { name: api-other, role: admin, secretEnv: API_OTHER }
      - { name: holder, role: member, secretEnv: HOLDER }
    connections:
      - ${fixtureStdioYaml('fx')}
`;

interface Reply {
  status: number;
  headers: Headers;
  body: JsonRpcError | { jsonrpc: '2.0'; id: string; result: { content: { text: string }[] } };
}

const reply = async (response: Response): Promise<Reply> => ({ status: response.status, headers: response.headers, body: (await response.json()) as Reply['body'] });

/** Sum of a counter's samples with this label, over the /metrics of these gateways. */
async function counter(gateways: TestGateway[], name: string, limit: string): Promise<number> {
  let sum = 0;
  for (const gateway of gateways) {
    const text = await (await fetch(`${gateway.baseUrl}/metrics`)).text();
    for (const line of text.split('\n')) {
      if (line.startsWith(`${name}{`) && line.includes(`limit="${limit}"`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

// platform.limits at /mcp and /api/v1, counted in the shared Redis: two replicas share one quota per credential and
// per organization, a refusal is a 429 with the IETF RateLimit fields and Retry-After, and a flood of refusals is one
// audit record and a count on /metrics.
describe('rate limits per credential and organization, across replicas', () => {
  let replicas: TestGateway[];
  let shared: { databaseUrl: string; redisPrefix: string };

  beforeAll(async () => {
    shared = { databaseUrl: await createTestDatabase(), redisPrefix: redisPrefix() };
    const vars = { FLOOD: KEYS.flood, OTHER: KEYS.other, API: KEYS.api, API_OTHER: KEYS.apiOther, HOLDER: KEYS.holder };
    // One after the other: both apply the same config file to the same database.
    const first = await startGateway({ yaml, vars, ...shared });
    replicas = [first, await startGateway({ yaml, vars, ...shared })];
    await Promise.all(replicas.map((gateway) => waitUntilConnected(gateway, ['fx'])));
  });

  afterAll(async () => {
    await Promise.allSettled((replicas ?? []).map((gateway) => gateway.close()));
  });

  it('serves exactly the quota of 1,000 calls sent at once to two replicas, refuses the rest with 429 and its RateLimit fields, and serves another key of the organization meanwhile', async () => {
    const sessions = await Promise.all(replicas.flatMap((gateway) => Array.from({ length: 5 }, () => RawSession.open(gateway.mcpUrl, KEYS.flood))));
    const otherSession = await RawSession.open(replicas[1]!.mcpUrl, KEYS.other);

    const flood = Promise.all(
      Array.from({ length: 1_000 }, (_, i) => sessions[i % sessions.length]!.call(`f-${i}`, 'fx_echo', { text: `flood ${i}` }).then(reply)),
    );
    const others: Reply[] = [];
    for (let i = 0; i < 10; i++) others.push(await reply(await otherSession.call(`o-${i}`, 'fx_echo', { text: `other ${i}` })));
    const replies = await flood;

    const served = replies.filter((r) => r.status === 200);
    const refused = replies.filter((r) => r.status === 429);
    expect([served.length, refused.length]).toEqual([PER_CREDENTIAL, 1_000 - PER_CREDENTIAL]);
    const policy = `"toolCallsPerCredential";q=${PER_CREDENTIAL};w=60, "toolCallsPerOrganization";q=${PER_ORGANIZATION};w=60`;
    for (const r of served) {
      expect(r.headers.get('ratelimit-policy')).toBe(policy);
      expect(r.headers.get('ratelimit')).toMatch(/^"toolCallsPerCredential";r=\d+;t=\d+, "toolCallsPerOrganization";r=\d+;t=\d+$/);
      expect(r.body).toMatchObject({ result: { content: [{ text: expect.stringMatching(/^echo: flood \d+$/) }] } });
    }
    expect(new Set(served.map((r) => r.headers.get('ratelimit')!.match(/r=(\d+)/)![1])).size).toBe(PER_CREDENTIAL);
    for (const r of refused) {
      const retryAfter = Number(r.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(r.headers.get('ratelimit-policy')).toBe(policy);
      expect(r.headers.get('ratelimit')).toBe(`"toolCallsPerCredential";r=0;t=${retryAfter}`);
      expect(r.headers.get('content-type')).toContain('application/json');
      expect(r.body).toEqual({
        jsonrpc: '2.0',
        id: expect.stringMatching(/^f-\d+$/),
        error: {
          code: -32000,
          message: `Too many tool calls with this credential: at most ${PER_CREDENTIAL} every 60 s (platform.limits.toolCallsPerCredential). Retry after ${retryAfter} s.`,
          data: { limit: 'toolCallsPerCredential', retryAfterSeconds: retryAfter },
        },
      });
    }
    // Every request got its own answer.
    expect(new Set(replies.map((r) => r.body.id)).size).toBe(1_000);

    expect(others.map((r) => [r.status, JSON.stringify(r.body)])).toEqual(others.map((_, i) => [200, expect.stringContaining(`echo: other ${i}`)]));
    expect(others.map((r) => r.headers.get('ratelimit')!.split(', ')[0])).toEqual(others.map((_, i) => expect.stringMatching(new RegExp(`^"toolCallsPerCredential";r=${PER_CREDENTIAL - 1 - i};t=\\d+$`))));

    // The organization's quota holds the calls served, not the flood's refusals (each is given back before its 429).
    // What the replicas took ahead for busy keys (RateLimiter's leases) is given back once the keys are idle.
    const redis = new Redis(REDIS_URL);
    try {
      const [organizationKey] = await redis.keys(`${shared.redisPrefix}:rate-limit:toolCallsPerOrganization:*`);
      await waitFor('the leases to be given back', async () => Number(await redis.get(organizationKey!)) === PER_CREDENTIAL + 10 || null);
    } finally {
      await redis.quit();
    }
    const after = await reply(await otherSession.call('o-last', 'fx_echo', { text: 'after' }));
    expect(after.headers.get('ratelimit')).toMatch(new RegExp(`"toolCallsPerOrganization";r=${PER_ORGANIZATION - PER_CREDENTIAL - 11};t=\\d+$`));
    await Promise.all([...sessions, otherSession].map((session) => session.close()));
  });

  it('records the first refusal of the window, once across both replicas, and counts the rest on /metrics', async () => {
    const records = await query<{ data: Record<string, unknown> }>(
      replicas[0]!.databaseUrl,
      "SELECT data FROM audit_records WHERE kind = 'tools.call.outcome' AND outcome = 'throttled' AND actor->>'name' = 'flood'",
    );
    expect(records).toHaveLength(1);
    expect(records[0]!.data).toMatchObject({
      outcome: 'throttled',
      limit: { name: 'toolCallsPerCredential', retryAfterSeconds: expect.any(Number) },
      error: expect.stringContaining('platform.limits.toolCallsPerCredential'),
    });
    const [request] = await query<{ data: { arguments: { text: string } } }>(
      replicas[0]!.databaseUrl,
      "SELECT r.data FROM audit_records r JOIN audit_records o ON o.call_id = r.call_id WHERE o.outcome = 'throttled' AND r.kind = 'tools.call.request' AND r.actor->>'name' = 'flood'",
    );
    expect(request!.data.arguments.text).toMatch(/^flood \d+$/);

    expect(await counter(replicas, 'gatehouse_limit_refusals_total', 'toolCallsPerCredential')).toBe(1_000 - PER_CREDENTIAL);
    expect(await counter(replicas, 'gatehouse_limit_refusals_unrecorded_total', 'toolCallsPerCredential')).toBe(1_000 - PER_CREDENTIAL - 1);
  });

  it('fills the quota exactly while one replica holds points of it that it has not used: the other, refused, asks for them back', async () => {
    const holder = await RawSession.open(replicas[0]!.mcpUrl, KEYS.holder);
    const flooders = await Promise.all(Array.from({ length: 5 }, () => RawSession.open(replicas[1]!.mcpUrl, KEYS.holder)));
    const statusOf = async (response: Promise<Response>) => (await reply(await response)).status;
    // Two calls on the first replica: the second, on a key now busy there, takes a grant of a sixteenth of what is
    // left, which it does not use up.
    for (let i = 0; i < 2; i++) expect(await statusOf(holder.call(`h-${i}`, 'fx_echo', { text: 'hold' }))).toBe(200);
    let servedByHolder = 2;
    // A call now and then keeps the key busy there (an idle key's points would go back after a second anyway) while
    // the other replica is flooded.
    let flooding = true;
    const keepBusy = (async () => {
      for (let i = 2; flooding; i++) {
        if ((await statusOf(holder.call(`h-${i}`, 'fx_echo', { text: 'hold' }))) === 200) servedByHolder++;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    })();
    const flood = await Promise.all(Array.from({ length: 300 }, (_, i) => statusOf(flooders[i % flooders.length]!.call(`b-${i}`, 'fx_echo', { text: `flood ${i}` }))));
    flooding = false;
    await keepBusy;
    const servedByFlood = flood.filter((status) => status === 200).length;
    expect(flood.filter((status) => status !== 200).every((status) => status === 429)).toBe(true);
    expect(servedByHolder + servedByFlood).toBe(PER_CREDENTIAL);
    await Promise.all([holder, ...flooders].map((session) => session.close()));
  });

  it('counts admin API requests per key across replicas: 429 problem JSON with RateLimit fields and Retry-After, another key served', async () => {
    const get = (gateway: TestGateway, key: string) => apiRequest<Record<string, unknown>>(gateway.baseUrl, key, 'GET', '/api/v1/connections');
    const allowed = [];
    for (let i = 0; i < 5; i++) allowed.push(await get(replicas[i % 2]!, KEYS.api));
    expect(allowed.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(allowed.map((r) => r.headers.get('ratelimit-policy'))).toEqual(Array(5).fill('"apiRequestsPerCredential";q=5;w=60'));
    expect(allowed.map((r) => r.headers.get('ratelimit')!.replace(/;t=\d+$/, ''))).toEqual([4, 3, 2, 1, 0].map((r) => `"apiRequestsPerCredential";r=${r}`));

    const refused = await get(replicas[0]!, KEYS.api);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(refused.status).toBe(429);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get('ratelimit')).toBe(`"apiRequestsPerCredential";r=0;t=${retryAfter}`);
    expect(refused.contentType).toContain('application/problem+json');
    expect(refused.body).toEqual({
      type: 'https://gatehouse.dev/problems/rate_limited',
      title: 'Too Many Requests',
      status: 429,
      detail: `Too many admin API requests with this key: at most 5 every 60 s (platform.limits.apiRequestsPerCredential); retry after ${retryAfter} s`,
    });

    const other = await get(replicas[1]!, KEYS.apiOther);
    expect(other.status).toBe(200);
    expect(other.headers.get('ratelimit')).toMatch(/^"apiRequestsPerCredential";r=4;t=\d+$/);
  });
});
