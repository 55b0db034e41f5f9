import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { AppConfig } from '@gatehouse/config';
import type { RedisService } from '@gatehouse/db';
import { BrowserSessions, csrfTokenMatches } from './browser-sessions.service';

// Browser sessions over a real Redis: idle expiry is Redis's (restarted on every use), the absolute one the session's.
const prefix = `gh_unit_${randomBytes(4).toString('hex')}`;
const client = new Redis(process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379');
const redis = { client, key: (...parts: string[]) => [prefix, ...parts].join(':') } as unknown as RedisService;
const config = AppConfig.from({ DATABASE_URL: 'postgresql://x@localhost/x', GATEHOUSE_BROWSER_IDLE_SECONDS: '600', GATEHOUSE_BROWSER_MAX_SECONDS: '3600' });
const sessions = new BrowserSessions(redis, config);

afterAll(async () => {
  const keys = await client.keys(`${prefix}:*`);
  if (keys.length) await client.del(...keys);
  await client.quit();
});

afterEach(() => jest.useRealTimers());

describe('BrowserSessions', () => {
  it('lives for the idle time, restarted by every use', async () => {
    const session = await sessions.create('user-1', null);
    expect(await client.ttl(redis.key('browser-session', session.id))).toBeLessThanOrEqual(600);
    await client.expire(redis.key('browser-session', session.id), 5);
    expect(await sessions.find(session.id)).toMatchObject({ userId: 'user-1', restrictedTo: null, csrfToken: session.csrfToken });
    expect(await client.ttl(redis.key('browser-session', session.id))).toBeGreaterThan(590);
  });

  it('ends at its absolute age however much it is used, and is removed', async () => {
    const session = await sessions.create('user-2', 'org-1');
    jest.useFakeTimers({ now: Date.now() + 3600 * 1000, doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'setInterval', 'clearTimeout', 'clearInterval'] });
    expect(await sessions.find(session.id)).toBeNull();
    expect(await client.exists(redis.key('browser-session', session.id))).toBe(0);
  });

  it('signs out a session stored without a CSRF token, and finds nothing for no cookie', async () => {
    await client.set(redis.key('browser-session', 'legacy'), JSON.stringify({ userId: 'u', createdAt: Date.now(), restrictedTo: null }));
    expect(await sessions.find('legacy')).toBeNull();
    expect(await sessions.find(undefined)).toBeNull();
  });

  it('compares CSRF tokens exactly', async () => {
    const session = await sessions.create('user-3', null);
    expect(csrfTokenMatches(session, session.csrfToken)).toBe(true);
    for (const sent of [undefined, '', 'x', `${session.csrfToken}x`, session.csrfToken.slice(1), ['a']]) expect(csrfTokenMatches(session, sent)).toBe(false);
  });
});
