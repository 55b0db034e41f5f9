import { AppConfig, platformSchema, PlatformSettings } from '@gatehouse/config';
import { MetricsRegistry } from '@gatehouse/db';
import { LimitMetrics, partitionKey, principalRateLimits, Principal, RateLimiter, RateLimitResult, RateLimitRule, RateLimitSubject } from '@gatehouse/identity';
import { McpLimits } from './mcp-limits';

const LIMITS = {
  sessionsPerCredential: 2,
  sessionsPerOrganization: 3,
  inFlightCallsPerCredential: 2,
  inFlightCallsPerOrganization: 3,
  toolCallsPerCredential: { requests: 4, windowSeconds: 60 },
  toolCallsPerOrganization: { requests: 5, windowSeconds: 60 },
};
const principal = (apiKeyId: string, organizationId = 'acme') => ({ apiKeyId, organizationId }) as Principal;

// Redis's fixed-window counters, in memory, as RateLimiter's script counts them (a refused request only against the
// quotas that refuse it): what is under test is what McpLimits counts and says.
class FakeLimiter {
  readonly counts = new Map<string, number>();
  private readonly rules = principalRateLimits(platformSchema.parse({ limits: LIMITS }).limits);

  async consume(policy: 'tool-call', subject: RateLimitSubject, points = 1): Promise<RateLimitResult[]> {
    const rules = this.rules[policy];
    const over = (rule: RateLimitRule) => this.count(rule.name, partitionKey(rule, subject)) + points > rule.points;
    const refused = rules.some(over);
    return rules.map((rule) => {
      const consumed = !refused || over(rule) ? this.add(rule, subject, points) : this.count(rule.name, partitionKey(rule, subject));
      return { rule, allowed: consumed <= rule.points, limit: rule.points, remaining: Math.max(0, rule.points - consumed), consumed, resetSeconds: 42 };
    });
  }

  count(name: string, key: string): number {
    return this.counts.get(`${name}:${key}`) ?? 0;
  }

  private add(rule: RateLimitRule, subject: RateLimitSubject, points: number): number {
    const key = `${rule.name}:${partitionKey(rule, subject)}`;
    const count = (this.counts.get(key) ?? 0) + points;
    this.counts.set(key, count);
    return count;
  }
}

describe('McpLimits', () => {
  let limiter: FakeLimiter;
  let limits: McpLimits;

  beforeEach(() => {
    limiter = new FakeLimiter();
    const config = AppConfig.from({ DATABASE_URL: 'postgresql://x@localhost/x', GATEHOUSE_SESSION_IDLE_SECONDS: '1800' });
    const platform = PlatformSettings.from(platformSchema.parse({ limits: LIMITS }));
    limits = new McpLimits(platform, config, limiter as unknown as RateLimiter, new LimitMetrics(new MetricsRegistry()));
  });

  it('refuses a session past either cap, naming the setting and how to free a slot; an ended session frees its slot', () => {
    const first = limits.admitSession(principal('alice'));
    expect(limits.admitSession(principal('alice')).admitted).toBe(true);
    expect(limits.admitSession(principal('alice'))).toEqual({
      admitted: false,
      refusal: {
        limit: 'sessionsPerCredential',
        message:
          'Too many open MCP sessions for this credential: at most 2 on this gateway (platform.limits.sessionsPerCredential). ' +
          'Close sessions you no longer use (HTTP DELETE /mcp with their Mcp-Session-Id); a session is closed after 1800 s without a request.',
        retryAfterSeconds: null,
        headers: {},
        firstOfWindow: null,
      },
    });
    expect(limits.admitSession(principal('bob')).admitted).toBe(true);
    const organizationFull = limits.admitSession(principal('carol'));
    expect(organizationFull.admitted || organizationFull.refusal.limit).toBe('sessionsPerOrganization');
    if (first.admitted) first.release();
    expect(limits.admitSession(principal('carol')).admitted).toBe(true);
  });

  it('counts a call refused by the credential quota only against that quota, and marks the first refusal of the window', async () => {
    for (let call = 0; call < 4; call++) {
      const admitted = await limits.admitCalls(principal('alice'), 1);
      if (admitted.admitted) admitted.release();
    }
    const refusals = [await limits.admitCalls(principal('alice'), 1), await limits.admitCalls(principal('alice'), 1)];
    expect(refusals.map((refusal) => !refusal.admitted && refusal.refusal)).toEqual([
      {
        limit: 'toolCallsPerCredential',
        message: 'Too many tool calls with this credential: at most 4 every 60 s (platform.limits.toolCallsPerCredential). Retry after 42 s.',
        retryAfterSeconds: 42,
        headers: {
          'RateLimit-Policy': '"toolCallsPerCredential";q=4;w=60, "toolCallsPerOrganization";q=5;w=60',
          RateLimit: '"toolCallsPerCredential";r=0;t=42',
        },
        firstOfWindow: true,
      },
      expect.objectContaining({ limit: 'toolCallsPerCredential', firstOfWindow: false }),
    ]);
    // The organization's quota kept only the calls that were let through: bob still has room.
    expect(limiter.count('toolCallsPerOrganization', 'acme')).toBe(4);
    const bob = await limits.admitCalls(principal('bob'), 1);
    expect(bob).toMatchObject({ admitted: true, headers: { RateLimit: '"toolCallsPerCredential";r=3;t=42, "toolCallsPerOrganization";r=0;t=42' } });
  });

  it('refuses a call past the calls in flight at once, with a retry in a second, and takes it once a call has finished', async () => {
    const running = [await limits.admitCalls(principal('alice'), 1), await limits.admitCalls(principal('alice'), 1)];
    const refused = await limits.admitCalls(principal('alice'), 1);
    expect(refused.admitted || refused.refusal).toMatchObject({
      limit: 'inFlightCallsPerCredential',
      message: expect.stringContaining('at most 2 at once on this gateway (platform.limits.inFlightCallsPerCredential). Wait for a call to finish'),
      retryAfterSeconds: 1,
      firstOfWindow: null,
    });
    if (running[0]!.admitted) running[0]!.release();
    // The refused call counted against the rate (every request costs the same): this is alice's fourth of four.
    expect((await limits.admitCalls(principal('alice'), 1)).admitted).toBe(true);
  });
});
