import { UserRepository } from '@gatehouse/db';
import { RateLimiter } from '../throttle/rate-limiter.service';
import { partitionKey, RATE_LIMITS, RateLimitResult, RateLimitRule, RateLimitSubject } from '../throttle/rate-limits';
import { SignInThrottledError } from '../throttle/sign-in-throttled.error';
import { AccountService } from './account.service';

// scrypt is password.spec's subject; here it would only make each attempt slow.
jest.mock('./password', () => ({
  verifyPassword: async (password: string, hash: string) => hash === `hashed:${password}`,
  decoyPasswordHash: async () => 'decoy',
}));

// Redis's counters, in memory, as RateLimiter's script counts them (a refused attempt only against the quotas that
// refuse it): what is under test is which attempts the service counts, forgives and refuses.
class FakeLimiter {
  readonly counts = new Map<string, number>();

  async consume(policy: keyof typeof RATE_LIMITS, subject: RateLimitSubject): Promise<RateLimitResult[]> {
    const rules = RATE_LIMITS[policy];
    const over = (rule: RateLimitRule) => this.count(rule, subject) + 1 > rule.points;
    const refused = rules.some(over);
    return rules.map((rule) => {
      const count = !refused || over(rule) ? this.add(rule, subject, 1) : this.count(rule, subject);
      return { rule, allowed: count <= rule.points, limit: rule.points, remaining: Math.max(0, rule.points - count), consumed: count, resetSeconds: 600 };
    });
  }

  async refund(results: readonly RateLimitResult[], subject: RateLimitSubject): Promise<void> {
    for (const { rule } of results) this.add(rule, subject, -1);
  }

  async reset(rule: RateLimitRule, subject: RateLimitSubject): Promise<void> {
    this.counts.delete(this.key(rule, subject));
  }

  exhaust(rule: RateLimitRule, subject: RateLimitSubject): void {
    this.counts.set(this.key(rule, subject), rule.points);
  }

  count(rule: RateLimitRule, subject: RateLimitSubject): number {
    return this.counts.get(this.key(rule, subject)) ?? 0;
  }

  private add(rule: RateLimitRule, subject: RateLimitSubject, points: number): number {
    const count = this.count(rule, subject) + points;
    this.counts.set(this.key(rule, subject), count);
    return count;
  }

  private key(rule: RateLimitRule, subject: RateLimitSubject): string {
    return `${rule.name}/${partitionKey(rule, subject)}`;
  }
}

const [PER_ACCOUNT, PER_IP] = RATE_LIMITS['sign-in'];
const IP = { ip: '203.0.113.7' };

describe('AccountService.signIn throttling', () => {
  let limiter: FakeLimiter;
  let lookups: string[];
  let accounts: AccountService;

  beforeAll(() => {
    const hashes = new Map([
      ['alice@acme.test', 'hashed:alice-password'],
      ['bob@acme.test', 'hashed:bob-password'],
    ]);
    const users = {
      findForSignIn: async (email: string) => {
        lookups.push(email);
        const passwordHash = hashes.get(email.toLowerCase());
        return passwordHash ? { id: email, email: email.toLowerCase(), name: null, passwordHash } : null;
      },
    };
    limiter = new FakeLimiter();
    accounts = new AccountService(users as unknown as UserRepository, limiter as unknown as RateLimiter);
  });

  beforeEach(() => {
    limiter.counts.clear();
    lookups = [];
  });

  const fail = async (email: string, times: number) => {
    for (let i = 0; i < times; i++) expect(await accounts.signIn(email, 'wrong', IP)).toBeNull();
  };

  it('refuses even the right password after 10 failures, without checking it, and still lets another account in', async () => {
    await fail('Alice@acme.test', PER_ACCOUNT.points);
    lookups = [];
    const locked = await accounts.signIn('alice@acme.test', 'alice-password', IP).catch((error: unknown) => error);
    expect(locked).toBeInstanceOf(SignInThrottledError);
    expect((locked as SignInThrottledError).retryAfterSeconds).toBe(600);
    expect((locked as SignInThrottledError).message).toBe('Too many failed sign-in attempts. Try again in 10 minutes.');
    expect(lookups).toEqual([]);

    expect(await accounts.signIn('bob@acme.test', 'bob-password', IP)).toMatchObject({ email: 'bob@acme.test' });
  });

  it('clears the account\'s failures on a success, but gives the address back only that attempt', async () => {
    await fail('alice@acme.test', PER_ACCOUNT.points - 1);
    expect(await accounts.signIn('alice@acme.test', 'alice-password', IP)).toMatchObject({ email: 'alice@acme.test' });
    expect(limiter.count(PER_ACCOUNT, { account: 'alice@acme.test' })).toBe(0);
    expect(limiter.count(PER_IP, IP)).toBe(PER_ACCOUNT.points - 1);
    await fail('alice@acme.test', PER_ACCOUNT.points);
  });

  it('does not charge the address for attempts refused at a locked account, nor the account for a refused address', async () => {
    await fail('alice@acme.test', PER_ACCOUNT.points);
    for (let i = 0; i < 5; i++) await expect(accounts.signIn('alice@acme.test', 'wrong', IP)).rejects.toBeInstanceOf(SignInThrottledError);
    expect(limiter.count(PER_IP, IP)).toBe(PER_ACCOUNT.points);

    limiter.counts.clear();
    limiter.exhaust(PER_IP, IP);
    await expect(accounts.signIn('bob@acme.test', 'bob-password', IP)).rejects.toBeInstanceOf(SignInThrottledError);
    expect(limiter.count(PER_ACCOUNT, { account: 'bob@acme.test' })).toBe(0);
  });
});
