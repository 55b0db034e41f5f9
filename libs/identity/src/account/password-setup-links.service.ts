import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { RedisService, UserRepository } from '@gatehouse/db';
import { hashPassword } from './password';

/** How long an admin has to pass the link on, and the new member to use it. */
export const PASSWORD_SETUP_TTL_SECONDS = 72 * 3600;
/** As the config file's passwordEnv. */
export const PASSWORD_MIN_LENGTH = 12;
// scrypt hashes whatever it is given; a bound keeps one request's work small.
export const PASSWORD_MAX_LENGTH = 256;

export interface PasswordSetupLink {
  token: string;
  expiresAt: Date;
}

interface Stored {
  userId: string;
  organizationId: string;
}

export type PasswordSetupOutcome = 'set' | 'invalid_link' | 'password_exists';

// One-time links with which a person added without a password chooses one. The token is 256 random bits, so it
// cannot be guessed; Redis keeps only its hash (a leaked snapshot holds no usable link), forgets it at the expiry,
// and GETDEL spends it atomically, so two uses racing each other cannot both set a password. The link also dies
// with the membership it was made for, and never replaces a password the person already has.
@Injectable()
export class PasswordSetupLinks {
  constructor(
    private readonly redis: RedisService,
    private readonly users: UserRepository,
  ) {}

  async create(userId: string, organizationId: string): Promise<PasswordSetupLink> {
    const token = randomBytes(32).toString('base64url');
    const stored: Stored = { userId, organizationId };
    await this.redis.client.set(this.key(token), JSON.stringify(stored), 'EX', PASSWORD_SETUP_TTL_SECONDS);
    return { token, expiresAt: new Date(Date.now() + PASSWORD_SETUP_TTL_SECONDS * 1000) };
  }

  /** Whether the link can still be used (for the page; using it checks again). */
  async valid(token: string): Promise<boolean> {
    const stored = await this.find(token, false);
    return stored !== null && (await this.stillMember(stored));
  }

  /** Spends the link and sets the password (already checked against the password rules). */
  async use(token: string, password: string): Promise<PasswordSetupOutcome> {
    const stored = await this.find(token, true);
    if (!stored || !(await this.stillMember(stored))) return 'invalid_link';
    return (await this.users.setFirstPassword(stored.userId, await hashPassword(password))) ? 'set' : 'password_exists';
  }

  private async find(token: string, spend: boolean): Promise<Stored | null> {
    if (!/^[\w-]{43}$/.test(token)) return null;
    const value = spend ? await this.redis.client.getdel(this.key(token)) : await this.redis.client.get(this.key(token));
    return value ? (JSON.parse(value) as Stored) : null;
  }

  private async stillMember(stored: Stored): Promise<boolean> {
    return (await this.users.findRole(stored.organizationId, stored.userId)) !== null;
  }

  private key(token: string): string {
    return this.redis.key('password-setup', createHash('sha256').update(token).digest('base64url'));
  }
}
