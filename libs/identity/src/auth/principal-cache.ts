import { Injectable, OnModuleInit } from '@nestjs/common';
import { ClusterBus } from '@gatehouse/db';
import { Principal } from './principal';

// Authenticated credentials (API keys and OAuth access tokens) are cached by the hash of their secret, so a
// tool call does not pay for database queries. A revocation evicts at once here and, through the cluster
// bus, in every replica; the TTL only bounds a lost message. Only valid credentials are cached: unknown ones
// always reach the database, so guessing cannot fill the cache and one created on another replica works at once.
const TTL_MS = 30_000;
const MAX_ENTRIES = 10_000;
const CHANNEL = 'credentials';

type CredentialEvent =
  | { type: 'grant-revoked'; id: string }
  | { type: 'token-revoked'; hash: string }
  | { type: 'member-changed'; organizationId: string; userId: string }
  | { type: 'changed' };

interface Entry {
  principal: Principal;
  expires: number;
}

@Injectable()
export class PrincipalCache implements OnModuleInit {
  private readonly entries = new Map<string, Entry>();
  // Lookups of credentials not cached, in flight, by hash: see `shared`.
  private readonly finding = new Map<string, Promise<unknown>>();
  // Evictions so far: a lookup that began before one does not cache what it found.
  private evictions = 0;

  constructor(private readonly bus: ClusterBus) {}

  async onModuleInit(): Promise<void> {
    // Local changes evict before publishing; only other replicas' events matter here.
    await this.bus.subscribe(CHANNEL, (event, fromSelf) => fromSelf || this.evict(event as CredentialEvent));
  }

  get(hash: string): Principal | undefined {
    const entry = this.entries.get(hash);
    if (entry && entry.expires > Date.now()) return entry.principal;
    this.entries.delete(hash);
    return undefined;
  }

  /**
   * `find`'s answer for a credential that is not cached, asked once however many requests want it at the same time:
   * when a busy credential's entry expires, each request in flight with it would otherwise query the database, and
   * each take a connection of the pool (a dozen new PostgreSQL backends every TTL, under the bench's load). `find`
   * caches the principal it found with `keep` (`notAfter`: the credential's own expiry, which the cache must not
   * outlive). An eviction while a lookup is on its way (a revocation, say) is not undone by it: what it found is not
   * kept, and requests after the eviction look the credential up again.
   */
  shared<T>(hash: string, find: (keep: (principal: Principal, notAfter?: number) => void) => Promise<T>): Promise<T> {
    const running = this.finding.get(hash);
    if (running) return running as Promise<T>;
    const since = this.evictions;
    const found = find((principal, notAfter) => since === this.evictions && this.set(hash, principal, notAfter)).finally(() => {
      if (this.finding.get(hash) === found) this.finding.delete(hash);
    });
    this.finding.set(hash, found);
    return found;
  }

  private set(hash: string, principal: Principal, notAfter = Number.POSITIVE_INFINITY): void {
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(hash, { principal, expires: Math.min(Date.now() + TTL_MS, notAfter) });
  }

  /** An API key or OAuth grant (which is an API key) was revoked: every credential of it stops working. */
  keyRevoked(id: string): Promise<void> {
    return this.announce({ type: 'grant-revoked', id });
  }

  tokenRevoked(hash: string): Promise<void> {
    return this.announce({ type: 'token-revoked', hash });
  }

  /** A person's role in an organization changed, or they left it: each of their credentials there is decided anew. */
  memberChanged(organizationId: string, userId: string): Promise<void> {
    return this.announce({ type: 'member-changed', organizationId, userId });
  }

  /** Keys or memberships changed in bulk (the config file was applied): every replica forgets everything. */
  invalidateAll(): Promise<void> {
    return this.announce({ type: 'changed' });
  }

  private async announce(event: CredentialEvent): Promise<void> {
    this.evict(event);
    await this.bus.publish(CHANNEL, event);
  }

  private evict(event: CredentialEvent): void {
    this.evictions += 1;
    this.finding.clear();
    if (event.type === 'changed') return this.entries.clear();
    if (event.type === 'token-revoked') {
      this.entries.delete(event.hash);
      return;
    }
    const evicted =
      event.type === 'grant-revoked'
        ? (principal: Principal) => principal.apiKeyId === event.id
        : (principal: Principal) => principal.userId === event.userId && principal.organizationId === event.organizationId;
    for (const [hash, entry] of this.entries) {
      if (evicted(entry.principal)) this.entries.delete(hash);
    }
  }
}
