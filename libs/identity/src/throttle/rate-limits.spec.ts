import { platformSchema } from '@gatehouse/config';
import { firstRefusal, partitionKey, principalRateLimits, RATE_LIMITS, rateLimitHeaders, RateLimitResult, RateLimitRule, retryAfterSeconds } from './rate-limits';

const [TOKEN, TOKEN_IP] = RATE_LIMITS.token;
const [ACCOUNT] = RATE_LIMITS['sign-in'];

const result = (rule: RateLimitRule, remaining: number, resetSeconds: number, allowed = true): RateLimitResult => ({
  rule,
  allowed,
  limit: rule.points,
  remaining,
  consumed: rule.points - remaining,
  resetSeconds,
});

describe('rate limit header fields', () => {
  it('lists every policy with its quota and window, and what is left of each', () => {
    expect(rateLimitHeaders([result(TOKEN, 119, 60), result(TOKEN_IP, 599, 60)])).toEqual({
      'RateLimit-Policy': '"token";q=120;w=60, "token-ip";q=600;w=60',
      RateLimit: '"token";r=119;t=60, "token-ip";r=599;t=60',
    });
  });

  it('names only the exhausted quotas in RateLimit once one is exhausted, and Retry-After waits for the last of them', () => {
    const results = [result(TOKEN, 0, 37, false), result(TOKEN_IP, 400, 52)];
    expect(rateLimitHeaders(results)).toEqual({
      'RateLimit-Policy': '"token";q=120;w=60, "token-ip";q=600;w=60',
      RateLimit: '"token";r=0;t=37',
    });
    expect(retryAfterSeconds(results)).toBe(37);
    expect(retryAfterSeconds([result(TOKEN, 5, 10)])).toBe(0);
  });
});

describe('partition keys', () => {
  it('counts a client per calling address, so nobody can spend another address\'s quota under a public client_id', () => {
    const claude = 'https://claude.ai/oauth/mcp-oauth-client-metadata';
    expect(partitionKey(TOKEN, { client: claude, ip: '203.0.113.7' })).toBe(`${claude}|203.0.113.7`);
    expect(partitionKey(TOKEN, { client: claude, ip: '198.51.100.1' })).not.toBe(partitionKey(TOKEN, { client: claude, ip: '203.0.113.7' }));
    expect(partitionKey(TOKEN_IP, { client: claude, ip: '203.0.113.7' })).toBe('203.0.113.7');
  });

  it('folds an email as accounts are looked up, and keeps long or missing values short', () => {
    expect(partitionKey(ACCOUNT, { account: '  Alice@Acme.TEST ', ip: '203.0.113.7' })).toBe('alice@acme.test');
    expect(partitionKey(TOKEN, {})).toBe('-|-');
    const long = partitionKey(TOKEN, { client: 'x'.repeat(10_000), ip: '203.0.113.7' });
    expect(long).toMatch(/^sha256:[\w-]{43}\|203\.0\.113\.7$/);
  });
});

describe('principal quotas', () => {
  const limits = platformSchema.parse({ limits: { toolCallsPerCredential: { requests: 200, windowSeconds: 10 } } }).limits;
  const [perCredential, perOrganization] = principalRateLimits(limits)['tool-call'];

  it('are the platform section\'s settings, named after them, counted per credential and per organization', () => {
    expect(perCredential).toEqual({ name: 'toolCallsPerCredential', per: 'credential', points: 200, windowSeconds: 10 });
    expect(perOrganization).toEqual({ name: 'toolCallsPerOrganization', per: 'organization', points: 60_000, windowSeconds: 60 });
    expect(principalRateLimits(limits).api).toEqual([{ name: 'apiRequestsPerCredential', per: 'credential', points: 600, windowSeconds: 60 }]);
    expect(partitionKey(perCredential!, { credential: 'key-1', organization: 'org-1' })).toBe('key-1');
    expect(partitionKey(perOrganization!, { credential: 'key-1', organization: 'org-1' })).toBe('org-1');
  });

  it('know the one request of a window that took the count past the quota, a batch of several included', () => {
    const after = (consumed: number, allowed = consumed <= 200) => ({ ...result(perCredential!, Math.max(0, 200 - consumed), 5, allowed), consumed });
    expect(firstRefusal(after(200))).toBe(false);
    expect(firstRefusal(after(201))).toBe(true);
    expect(firstRefusal(after(202))).toBe(false);
    expect(firstRefusal(after(203), 3)).toBe(true);
    expect(firstRefusal(after(204), 3)).toBe(false);
  });
});
