import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { RedisService } from '@gatehouse/db';

const TTL_SECONDS = 12 * 3600;

export interface BrowserSession {
  userId: string;
  createdAt: number;
  /**
   * The one organization this session may act in, when an identity provider signed the person in (its word is
   * taken for its own organization only); null for a full session: a password, or a domain the operator verified.
   */
  restrictedTo: string | null;
}

// Signed-in people in a browser (the OAuth pages, later the dashboard). The cookie holds only a random id
// (signed on top); the session lives in Redis, so every replica sees it and signing out ends it everywhere.
@Injectable()
export class BrowserSessions {
  constructor(private readonly redis: RedisService) {}

  async create(userId: string, restrictedTo: string | null): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    const session: BrowserSession = { userId, createdAt: Date.now(), restrictedTo };
    await this.redis.client.set(this.key(id), JSON.stringify(session), 'EX', TTL_SECONDS);
    return id;
  }

  async find(id: string | undefined): Promise<BrowserSession | null> {
    if (!id) return null;
    const stored = await this.redis.client.get(this.key(id));
    const session = stored ? (JSON.parse(stored) as Partial<BrowserSession>) : null;
    // A session stored before restrictions existed may be an identity provider's: signed out, not trusted as full.
    return session && session.restrictedTo !== undefined ? (session as BrowserSession) : null;
  }

  async destroy(id: string): Promise<void> {
    await this.redis.client.del(this.key(id));
  }

  get ttlSeconds(): number {
    return TTL_SECONDS;
  }

  private key(id: string): string {
    return this.redis.key('browser-session', id);
  }
}
