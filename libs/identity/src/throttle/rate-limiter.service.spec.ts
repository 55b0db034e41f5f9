import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { platformSchema, PlatformSettings } from '@gatehouse/config';
import { ClusterBus, RedisService } from '@gatehouse/db';
import { RateLimiter } from './rate-limiter.service';
import { LEASE_SHARE, MAX_LEASE } from './quota-leases';
import { firstRefusal, RATE_LIMITS, RateLimitResult } from './rate-limits';

// Against a real Redis (TEST_REDIS_URL, default 127.0.0.1:6379) under a random key prefix: the counting is the Lua
// script's, so only Redis can show it.
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `gh_unit_${randomBytes(4).toString('hex')}`;
const clients: Redis[] = [];
const limiters: RateLimiter[] = [];
/** Settings with these tools/call quotas (per minute) of a credential and of its organization. */
function quotas(credential: number, organization: number): PlatformSettings {
  return PlatformSettings.from(
    platformSchema.parse({
      limits: { toolCallsPerCredential: { requests: credential, windowSeconds: 60 }, toolCallsPerOrganization: { requests: organization, windowSeconds: 60 } },
    }),
  );
}
const platform = quotas(3, 5);

/** A RateLimiter with its own connections (commands, and the cluster bus it listens on): a replica of its own. */
async function replica(settings = platform): Promise<{ limiter: RateLimiter; client: Redis; sent: string[] }> {
  const client = new Redis(REDIS_URL, { enableAutoPipelining: true });
  clients.push(client);
  const sent: string[] = [];
  const sendCommand = client.sendCommand.bind(client);
  client.sendCommand = ((command: { name: string }, stream?: unknown) => {
    sent.push(command.name);
    return sendCommand(command as never, stream as never);
  }) as typeof client.sendCommand;
  const createSubscriber = () => {
    const subscriber = new Redis(REDIS_URL);
    clients.push(subscriber);
    return subscriber;
  };
  const redis = { client, key: (...parts: string[]) => [prefix, ...parts].join(':'), createSubscriber } as unknown as RedisService;
  const limiter = new RateLimiter(redis, settings, new ClusterBus(redis));
  await limiter.onModuleInit();
  limiters.push(limiter);
  return { limiter, client, sent };
}
const counter = (client: Redis, rule: string, value: string) => client.get(`${prefix}:rate-limit:${rule}:${value}`).then(Number);
const allowed = (quotas: { allowed: boolean }[]) => quotas.every((quota) => quota.allowed);

afterAll(async () => {
  // Each replica stops as a gateway does, giving back its leases while its connection is open.
  await Promise.all(limiters.map((limiter) => limiter.beforeApplicationShutdown()));
  const keys = await clients[0]!.keys(`${prefix}:*`);
  if (keys.length) await clients[0]!.del(...keys);
  await Promise.all(clients.map((client) => client.quit()));
});

describe('RateLimiter', () => {
  let a: Awaited<ReturnType<typeof replica>>;
  let b: typeof a;
  beforeAll(async () => ([a, b] = await Promise.all([replica(), replica()])));
  let n = 0;
  const subject = () => ({ credential: `key-${++n}`, organization: `org-${n}` });

  it('counts every quota of a policy in one command, with what is left and when the window ends', async () => {
    await a.limiter.consume('tool-call', subject()); // Redis learns the script
    const who = subject();
    a.sent.length = 0;
    const results = await a.limiter.consume('tool-call', who);
    expect(a.sent).toEqual(['evalsha']);
    expect(results.map(({ rule, allowed, remaining, consumed, resetSeconds }) => ({ name: rule.name, allowed, remaining, consumed, resetSeconds }))).toEqual([
      { name: 'toolCallsPerCredential', allowed: true, remaining: 2, consumed: 1, resetSeconds: 60 },
      { name: 'toolCallsPerOrganization', allowed: true, remaining: 4, consumed: 1, resetSeconds: 60 },
    ]);
    expect(await a.client.pttl(`${prefix}:rate-limit:toolCallsPerCredential:${who.credential}`)).toBeGreaterThan(59_000);
  });

  it('counts a refused request only against the quotas that refuse it: the other quota is not spent', async () => {
    const who = subject();
    for (let call = 0; call < 3; call++) expect((await a.limiter.consume('tool-call', who)).every((result) => result.allowed)).toBe(true);
    const refused = await b.limiter.consume('tool-call', who);
    expect(refused.map(({ allowed, consumed, remaining }) => ({ allowed, consumed, remaining }))).toEqual([
      { allowed: false, consumed: 4, remaining: 0 },
      { allowed: true, consumed: 3, remaining: 2 },
    ]);
    // Another credential of the organization still has the organization's two calls.
    const colleague = { credential: `${who.credential}-colleague`, organization: who.organization };
    expect((await b.limiter.consume('tool-call', colleague)).map((result) => result.allowed)).toEqual([true, true]);
    expect((await a.limiter.consume('tool-call', colleague)).map((result) => result.allowed)).toEqual([true, true]);
    const organizationFull = await a.limiter.consume('tool-call', colleague);
    expect(organizationFull.map(({ allowed, consumed }) => ({ allowed, consumed }))).toEqual([
      { allowed: true, consumed: 2 },
      { allowed: false, consumed: 6 },
    ]);
    expect(await a.client.get(`${prefix}:rate-limit:toolCallsPerCredential:${colleague.credential}`)).toBe('2');
  });

  it('lets exactly the quota through when many requests arrive at once on two replicas', async () => {
    const who = subject();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).limiter.consume('tool-call', who)));
    expect(results.filter((quotas) => quotas.every((result) => result.allowed))).toHaveLength(3);
    expect(await a.client.get(`${prefix}:rate-limit:toolCallsPerOrganization:${who.organization}`)).toBe('3');
  });

  it('counts several points at once, refusing a batch larger than what is left', async () => {
    const who = subject();
    expect((await a.limiter.consume('tool-call', who, 2)).map((result) => result.remaining)).toEqual([1, 3]);
    expect((await a.limiter.consume('tool-call', who, 2)).map(({ allowed, consumed }) => ({ allowed, consumed }))).toEqual([
      { allowed: false, consumed: 4 },
      { allowed: true, consumed: 2 },
    ]);
  });

  it('refunds only counters still in their window, and resets one', async () => {
    const [account] = RATE_LIMITS['sign-in'];
    const who = { account: `someone-${++n}@example.test`, ip: '203.0.113.9' };
    const results = await a.limiter.consume('sign-in', who);
    await a.limiter.consume('sign-in', who);
    await b.limiter.refund(results, who);
    expect((await a.limiter.consume('sign-in', who)).map((result) => result.consumed)).toEqual([2, 2]);
    await a.limiter.reset(account!, who);
    expect((await a.limiter.consume('sign-in', who)).map((result) => result.consumed)).toEqual([1, 3]);

    const gone = { account: `gone-${++n}@example.test`, ip: '203.0.113.10' };
    const counted = await a.limiter.consume('sign-in', gone);
    await a.client.del(`${prefix}:rate-limit:sign-in-account:${gone.account}`);
    await a.limiter.refund(counted, gone);
    expect(await a.client.exists(`${prefix}:rate-limit:sign-in-account:${gone.account}`)).toBe(0);
  });
});

describe('RateLimiter leases on busy tools/call quotas', () => {
  const roomy = quotas(400, 100_000);
  let n = 0;
  const subject = () => ({ credential: `leased-key-${++n}`, organization: `leased-org-${n}` });

  it('counts most requests of a busy quota here, in order, with one command for many', async () => {
    const { limiter, client, sent } = await replica(roomy);
    const who = subject();
    const consumed: number[] = [];
    for (let call = 0; call < 100; call++) {
      const results = await limiter.consume('tool-call', who);
      expect(allowed(results)).toBe(true);
      consumed.push(results[0]!.consumed);
    }
    expect(consumed).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(sent.filter((name) => name.startsWith('eval')).length).toBeLessThan(20);
    // The counter holds what was used and what is leased here, never less than what was used.
    expect(await counter(client, 'toolCallsPerCredential', who.credential)).toBeGreaterThan(100);
    await limiter.beforeApplicationShutdown();
    expect(await counter(client, 'toolCallsPerCredential', who.credential)).toBe(100);
    expect(await counter(client, 'toolCallsPerOrganization', who.organization)).toBe(100);
  });

  it('never lets more than the quota through on two replicas at once, each request with a count of its own, and gives back what it did not use', async () => {
    const [a, b] = await Promise.all([replica(roomy), replica(roomy)]);
    const who = subject();
    let admitted = 0;
    const counts = new Set<number>();
    const hammer = async (limiter: RateLimiter) => {
      for (let call = 0; call < 300; call++) {
        const results = await limiter.consume('tool-call', who);
        if (!allowed(results)) continue;
        admitted++;
        counts.add(results[0]!.consumed);
      }
    };
    await Promise.all([hammer(a.limiter), hammer(a.limiter), hammer(b.limiter), hammer(b.limiter)]);
    // Exactly the quota: what one replica held unused when the other was refused was given back and counted.
    expect(admitted).toBe(400);
    // Each admitted request reports a count of its own, whichever replica counted it.
    expect(counts.size).toBe(admitted);
    await Promise.all([a.limiter.beforeApplicationShutdown(), b.limiter.beforeApplicationShutdown()]);
    expect(await counter(a.client, 'toolCallsPerOrganization', who.organization)).toBe(admitted);
  });

  it('fills a quota exactly across replicas: a request refused while another replica holds unused points is counted with them, given back', async () => {
    const [a, b] = await Promise.all([replica(roomy), replica(roomy)]);
    const who = subject();
    const counts: number[] = [];
    let last: RateLimitResult[] = [];
    const take = async (limiter: RateLimiter) => {
      last = await limiter.consume('tool-call', who);
      if (allowed(last)) counts.push(last[0]!.consumed);
      return allowed(last);
    };
    // Two calls on one replica: the second, on a busy key, takes a grant of a sixteenth of what is left.
    expect([await take(a.limiter), await take(a.limiter)]).toEqual([true, true]);
    const held = (await counter(a.client, 'toolCallsPerCredential', who.credential)) - 2;
    expect(held).toBe(Math.floor((400 - 2) / LEASE_SHARE));
    while (await take(b.limiter));
    expect(counts).toHaveLength(400);
    // Each admitted request has a count of its own, those the first replica gave back included.
    expect(new Set(counts)).toEqual(new Set(Array.from({ length: 400 }, (_, i) => i + 1)));
    expect(await a.client.exists(`${prefix}:rate-limit-holders:toolCallsPerCredential:${who.credential}`)).toBe(0);
    // The refusals held while the points were given back were counted nowhere: the first counted is the first refusal.
    expect(firstRefusal(last[0]!)).toBe(true);
    expect(await take(a.limiter)).toBe(false);
    expect(firstRefusal(last[0]!)).toBe(false);
  });

  it('refuses when a replica holding a lease of the spent quota does not answer, and does not wait for it again in that window', async () => {
    const { limiter, client, sent } = await replica(quotas(3, 100_000));
    const who = subject();
    for (let call = 0; call < 3; call++) expect(allowed(await limiter.consume('tool-call', who))).toBe(true);
    // A replica that was granted points of the quota and stopped without giving them back.
    await client.sadd(`${prefix}:rate-limit-holders:toolCallsPerCredential:${who.credential}`, 'gone');
    sent.length = 0;
    expect(allowed(await limiter.consume('tool-call', who))).toBe(false);
    expect(sent.filter((name) => name === 'publish')).toHaveLength(1);
    sent.length = 0;
    expect(allowed(await limiter.consume('tool-call', who))).toBe(false);
    expect(sent).toEqual(['evalsha']);
  });

  it('counts a request that a grant answered first left no room for from that grant: one replica fills the quota exactly', async () => {
    const snug = quotas(40, 100_000);
    const { limiter, client } = await replica(snug);
    const who = subject();
    expect(allowed(await limiter.consume('tool-call', who))).toBe(true);
    // Sixty at once on the busy key: the first asks for a grant (two points, a sixteenth of the 38 left) and the others
    // wait for it; those it does not cover go to Redis, one asking for the next grant, which Redis answers before the
    // others' points, so the last of them find the quota spent by that grant.
    const burst = await Promise.all(Array.from({ length: 60 }, () => limiter.consume('tool-call', who)));
    expect(burst.filter(allowed)).toHaveLength(39);
    expect(new Set(burst.filter(allowed).map((results) => results[0]!.consumed))).toEqual(new Set(Array.from({ length: 39 }, (_, i) => i + 2)));
    await limiter.beforeApplicationShutdown();
    expect(await counter(client, 'toolCallsPerOrganization', who.organization)).toBe(40);
  });

  it('counts the requests that arrive while a grant is on its way from that grant: about one command per grant', async () => {
    const { limiter, client, sent } = await replica(quotas(100_000, 1_000_000));
    const who = subject();
    // Sixteen agents calling one after another, as a busy credential does.
    const agent = async () => {
      for (let call = 0; call < 100; call++) expect(allowed(await limiter.consume('tool-call', who))).toBe(true);
    };
    await Promise.all(Array.from({ length: 16 }, agent));
    // Each agent's first call goes to Redis alone (the key is not busy yet), then one script per grant of 64; when the
    // requests in flight while a grant was asked each sent a script of their own, this took 336.
    expect(sent.filter((name) => name === 'evalsha').length).toBeLessThanOrEqual(16 + 2 * Math.ceil(1_600 / MAX_LEASE));
    await limiter.beforeApplicationShutdown();
    expect(await counter(client, 'toolCallsPerCredential', who.credential)).toBe(1_600);
  });

  it('gives back the points of a key idle for a second, so that another replica can use them', async () => {
    const [a, b] = await Promise.all([replica(roomy), replica(roomy)]);
    const who = subject();
    for (let call = 0; call < 10; call++) expect(allowed(await a.limiter.consume('tool-call', who))).toBe(true);
    expect(await counter(a.client, 'toolCallsPerCredential', who.credential)).toBeGreaterThan(10);
    await new Promise((resolve) => setTimeout(resolve, 2_300));
    expect(await counter(a.client, 'toolCallsPerCredential', who.credential)).toBe(10);
    let admitted = 0;
    while (allowed(await b.limiter.consume('tool-call', who))) admitted++;
    expect(admitted).toBe(390);
  });

  it('gives the lease back to the quota that admits a request another quota refuses', async () => {
    const tight = quotas(1_000, 50);
    const { limiter, client } = await replica(tight);
    const who = subject();
    let admitted = 0;
    let refusal: Awaited<ReturnType<RateLimiter['consume']>> = [];
    for (;;) {
      const results = await limiter.consume('tool-call', who);
      if (!allowed(results)) {
        refusal = results;
        break;
      }
      admitted++;
    }
    expect(admitted).toBe(50);
    expect(refusal.map(({ allowed, consumed }) => ({ allowed, consumed }))).toEqual([
      { allowed: true, consumed: 50 },
      { allowed: false, consumed: 51 },
    ]);
    await limiter.beforeApplicationShutdown();
    expect(await counter(client, 'toolCallsPerCredential', who.credential)).toBe(50);
  });

  it('counts a request of a quiet key in Redis alone, taking no lease', async () => {
    const { limiter, client } = await replica(roomy);
    const who = subject();
    await limiter.consume('tool-call', who);
    expect(await counter(client, 'toolCallsPerCredential', who.credential)).toBe(1);
  });
});
