import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '@gatehouse/config';
import { RedisService } from '@gatehouse/db';
import { sameSecret } from '../auth/same-secret';

export interface BrowserSession {
  /** The random id the signed cookie carries (not stored in the session itself). */
  id: string;
  userId: string;
  createdAt: number;
  /**
   * The one organization this session may act in, when an identity provider signed the person in (its word is
   * taken for its own organization only); null for a full session: a password, or a domain the operator verified.
   */
  restrictedTo: string | null;
  /** The dashboard sends it back in a header with every change it asks for: a page of another site cannot read it. */
  csrfToken: string;
}

type Stored = Omit<BrowserSession, 'id'>;

// Signed-in people in a browser (the OAuth pages and the dashboard). The cookie holds only a random id (signed on
// top); the session lives in Redis, so every replica sees it and signing out ends it everywhere. It ends after
// GATEHOUSE_BROWSER_IDLE_SECONDS without use, and GATEHOUSE_BROWSER_MAX_SECONDS after sign-in whatever the use.
@Injectable()
export class BrowserSessions {
  private readonly idleSeconds: number;
  private readonly maxSeconds: number;

  constructor(
    private readonly redis: RedisService,
    config: AppConfig,
  ) {
    this.maxSeconds = config.env.GATEHOUSE_BROWSER_MAX_SECONDS;
    this.idleSeconds = Math.min(config.env.GATEHOUSE_BROWSER_IDLE_SECONDS, this.maxSeconds);
  }

  async create(userId: string, restrictedTo: string | null): Promise<BrowserSession> {
    const id = randomBytes(32).toString('base64url');
    const session: Stored = { userId, createdAt: Date.now(), restrictedTo, csrfToken: randomBytes(32).toString('base64url') };
    await this.redis.client.set(this.key(id), JSON.stringify(session), 'EX', this.idleSeconds);
    return { id, ...session };
  }

  /** The live session, its idle time restarted (one round trip); null when there is none, or it is past its age. */
  async find(id: string | undefined): Promise<BrowserSession | null> {
    if (!id) return null;
    const stored = await this.redis.client.getex(this.key(id), 'EX', this.idleSeconds);
    const session = stored ? (JSON.parse(stored) as Partial<Stored>) : null;
    // A session stored before restrictions or CSRF tokens existed is signed out rather than trusted.
    if (!session || session.restrictedTo === undefined || typeof session.csrfToken !== 'string' || typeof session.createdAt !== 'number') return null;
    if (Date.now() - session.createdAt >= this.maxSeconds * 1000) {
      await this.destroy(id);
      return null;
    }
    return { id, ...(session as Stored) };
  }

  async destroy(id: string): Promise<void> {
    await this.redis.client.del(this.key(id));
  }

  /** When the session ends at the latest, whatever its use. */
  expiresAt(session: BrowserSession): Date {
    return new Date(session.createdAt + this.maxSeconds * 1000);
  }

  get idleTimeoutSeconds(): number {
    return this.idleSeconds;
  }

  /** The cookie's lifetime: the session's whole age (Redis ends it sooner when it is left idle). */
  get cookieSeconds(): number {
    return this.maxSeconds;
  }

  private key(id: string): string {
    return this.redis.key('browser-session', id);
  }
}

/** The session's CSRF token compared in constant time with what a request sent. */
export function csrfTokenMatches(session: BrowserSession, sent: unknown): boolean {
  return sameSecret(session.csrfToken, sent);
}
