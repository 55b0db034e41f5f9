import { createHash, randomBytes } from 'node:crypto';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { GatehouseError, ROLE_RANK } from '@gatehouse/config';
import { ApiKeyRecord, ApiKeyRepository, ClusterBus } from '@gatehouse/db';
import { Principal } from '../auth/principal';
import { CreateApiKeyInput } from './api-key.schema';

const SECRET_PREFIX = 'ghk_';
// last-used is informational; writing it at most once a minute keeps a row update off the hot path.
const LAST_USED_RESOLUTION_MS = 60_000;
// Authenticated keys are cached so that a tool call does not pay for database queries. Revocation evicts
// at once here and, through the cluster bus, in every replica; the TTL only bounds a lost message.
const CACHE_TTL_MS = 30_000;
const CACHE_MAX_ENTRIES = 10_000;
const CHANNEL = 'api-keys';

type ApiKeyEvent = { type: 'revoked'; id: string } | { type: 'changed' };

interface CachedPrincipal {
  principal: Principal;
  expires: number;
}

export interface IssuedApiKey {
  key: ApiKeyRecord;
  /** Shown once; only its hash is stored. */
  secret: string;
}

export function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function displayPrefix(secret: string): string {
  return secret.slice(0, SECRET_PREFIX.length + 6);
}

@Injectable()
export class ApiKeyService implements OnModuleInit {
  private readonly logger = new Logger(ApiKeyService.name);
  private readonly lastUsedWrites = new Map<string, number>();
  // Only valid keys are cached (by secret hash): unknown tokens always reach the database, so guessing
  // cannot fill the cache and a key created on another replica works at once.
  private readonly cache = new Map<string, CachedPrincipal>();

  constructor(
    private readonly repository: ApiKeyRepository,
    private readonly bus: ClusterBus,
  ) {}

  async onModuleInit(): Promise<void> {
    // revoke() and invalidateAll() evict here before publishing; only other replicas' events matter.
    await this.bus.subscribe(CHANNEL, (event, fromSelf) => fromSelf || this.evict(event as ApiKeyEvent));
  }

  async authenticate(secret: string): Promise<Principal | null> {
    const hash = hashApiKeySecret(secret);
    const cached = this.cache.get(hash);
    if (cached && cached.expires > Date.now()) {
      this.recordUse(cached.principal.apiKeyId);
      return cached.principal;
    }
    this.cache.delete(hash);
    const key = await this.repository.findBySecretHash(hash);
    if (!key || key.revokedAt) return null;
    this.recordUse(key.id);
    const principal: Principal = {
      kind: 'api_key',
      subject: `api_key:${key.id}`,
      organizationId: key.organizationId,
      organizationSlug: key.organization.slug,
      role: key.role,
      access: key.access,
      apiKeyId: key.id,
      userId: key.createdById,
      name: key.name,
    };
    if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(hash, { principal, expires: Date.now() + CACHE_TTL_MS });
    return principal;
  }

  /** After keys changed in bulk (the config file was applied): every replica forgets what it cached. */
  async invalidateAll(): Promise<void> {
    this.evict({ type: 'changed' });
    await this.bus.publish(CHANNEL, { type: 'changed' } satisfies ApiKeyEvent);
  }

  // A key can never hold more than the principal that creates it.
  async create(principal: Principal, input: CreateApiKeyInput): Promise<IssuedApiKey> {
    if (ROLE_RANK[input.role] > ROLE_RANK[principal.role]) {
      throw GatehouseError.forbidden(`Cannot create a key with role ${input.role}: it exceeds your role (${principal.role})`);
    }
    if (input.access === 'read_write' && principal.access === 'read_only') {
      throw GatehouseError.forbidden('Cannot create a read_write key from a read_only key');
    }
    const secret = `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
    const key = await this.repository.create({
      organizationId: principal.organizationId,
      createdById: principal.userId,
      name: input.name,
      prefix: displayPrefix(secret),
      secretHash: hashApiKeySecret(secret),
      role: input.role,
      access: input.access,
    });
    return { key, secret };
  }

  list(organizationId: string): Promise<ApiKeyRecord[]> {
    return this.repository.listByOrganization(organizationId);
  }

  async revoke(organizationId: string, id: string): Promise<ApiKeyRecord> {
    const key = await this.repository.revoke(organizationId, id, new Date());
    if (!key) throw GatehouseError.notFound(`API key ${id} not found`);
    this.evict({ type: 'revoked', id });
    await this.bus.publish(CHANNEL, { type: 'revoked', id } satisfies ApiKeyEvent);
    return key;
  }

  private evict(event: ApiKeyEvent): void {
    if (event.type === 'changed') return this.cache.clear();
    for (const [hash, cached] of this.cache) {
      if (cached.principal.apiKeyId === event.id) this.cache.delete(hash);
    }
  }

  private recordUse(id: string): void {
    const now = Date.now();
    if (now - (this.lastUsedWrites.get(id) ?? 0) < LAST_USED_RESOLUTION_MS) return;
    this.lastUsedWrites.set(id, now);
    this.repository
      .touchLastUsed(id, new Date(now))
      .catch((error: unknown) => this.logger.warn({ err: error, apiKeyId: id }, 'Could not record API key use'));
  }
}
