import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { platformSchema, PlatformSettings } from '@gatehouse/config';
import type { RedisService } from '@gatehouse/db';
import { RateLimiter } from './rate-limiter.service';
import { RATE_LIMITS } from './rate-limits';

// Against a real Redis (TEST_REDIS_URL, default 127.0.0.1:6379) under a random key prefix: the counting is the Lua
// script's, so only Redis can show it.
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `gh_unit_${randomBytes(4).toString('hex')}`;
const clients: Redis[] = [];
const platform = PlatformSettings.from(
  platformSchema.parse({
    limits: { toolCallsPerCredential: { requests: 3, windowSeconds: 60 }, toolCallsPerOrganization: { requests: 5, windowSeconds: 60 } },
  }),
);

/** A RateLimiter with its own connection: a replica of its own. */
function replica(): { limiter: RateLimiter; client: Redis } {
  const client = new Redis(REDIS_URL, { enableAutoPipelining: true });
  clients.push(client);
  const redis = { client, key: (...parts: string[]) => [prefix, ...parts].join(':') } as unknown as RedisService;
  return { limiter: new RateLimiter(redis, platform), client };
}

afterAll(async () => {
  const keys = await clients[0]!.keys(`${prefix}:*`);
  if (keys.length) await clients[0]!.del(...keys);
  await Promise.all(clients.map((client) => client.quit()));
});

describe('RateLimiter', () => {
  const [a, b] = [replica(), replica()];
  let n = 0;
  const subject = () => ({ credential: `key-${++n}`, organization: `org-${n}` });

  it('counts every quota of a policy in one command, with what is left and when the window ends', async () => {
    await a.limiter.consume('tool-call', subject()); // Redis learns the script
    const who = subject();
    const sent: string[] = [];
    const sendCommand = a.client.sendCommand.bind(a.client);
    a.client.sendCommand = ((command: { name: string }, stream?: unknown) => {
      sent.push(command.name);
      return sendCommand(command as never, stream as never);
    }) as typeof a.client.sendCommand;
    const results = await a.limiter.consume('tool-call', who);
    a.client.sendCommand = sendCommand;
    expect(sent).toEqual(['evalsha']);
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
