import { Injectable } from '@nestjs/common';
import { MembershipView, UserRecord, UserRepository } from '@gatehouse/db';
import { RateLimiter } from '../throttle/rate-limiter.service';
import { retryAfterSeconds } from '../throttle/rate-limits';
import { SignInThrottledError } from '../throttle/sign-in-throttled.error';
import { BrowserSession } from './browser-sessions.service';
import { decoyPasswordHash, verifyPassword } from './password';

// Local accounts: people who sign in with an email and a password (deployments without an identity provider).
@Injectable()
export class AccountService {
  constructor(
    private readonly users: UserRepository,
    private readonly limiter: RateLimiter,
  ) {}

  /**
   * The person, or null for a wrong email or password (indistinguishable, in answer and in time). Throws
   * SignInThrottledError after too many failures for the email (whether or not it has an account) or from the address.
   */
  async signIn(email: string, password: string, from: { ip: string | undefined }): Promise<UserRecord | null> {
    const subject = { account: email, ip: from.ip };
    // Every attempt counts as a failure up front and is given back when it was not one: an atomic count before the
    // password check, so parallel guesses cannot all pass a check made before any of them had failed.
    const counted = await this.limiter.consume('sign-in', subject);
    const retryAfter = retryAfterSeconds(counted);
    // No password was checked: only the exhausted quotas counted this attempt (RateLimiter.consume).
    if (retryAfter > 0) throw new SignInThrottledError(retryAfter);
    const user = await this.users.findForSignIn(email.trim());
    const valid = await verifyPassword(password, user?.passwordHash ?? (await decoyPasswordHash()));
    if (!user?.passwordHash || !valid) return null;
    // A success clears the account's failures; the address only gets this attempt back, or signing in to one
    // account of one's own would reset an address that is guessing at others.
    await Promise.all(
      counted.map((result) => (result.rule.per === 'account' ? this.limiter.reset(result.rule, subject) : this.limiter.refund([result], subject))),
    );
    return { id: user.id, email: user.email, name: user.name };
  }

  find(userId: string): Promise<UserRecord | null> {
    return this.users.findById(userId);
  }

  /** The organizations a browser session may act in: the person's, or only the one a restricted session names. */
  async organizations(session: BrowserSession): Promise<MembershipView[]> {
    const memberships = await this.users.memberships(session.userId);
    return session.restrictedTo === null ? memberships : memberships.filter((membership) => membership.organization.id === session.restrictedTo);
  }
}
