import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { GatehouseError, roleIncludes } from '@gatehouse/config';
import { ApiKeyRecord, ApiKeyRepository } from '@gatehouse/db';
import { hashCredential } from '../auth/credential-hash';
import { CredentialFailure, principalOf, standsUntil } from '../auth/credential-standing';
import { Principal } from '../auth/principal';
import { PrincipalCache } from '../auth/principal-cache';
import { CreateApiKeyInput } from './api-key.schema';
import { KeyUsageRecorder } from './key-usage.recorder';

const SECRET_PREFIX = 'ghk_';

export interface IssuedApiKey {
  key: ApiKeyRecord;
  /** Shown once; only its hash is stored. */
  secret: string;
}

export function displayPrefix(secret: string): string {
  return secret.slice(0, SECRET_PREFIX.length + 6);
}

@Injectable()
export class ApiKeyService {
  constructor(
    private readonly repository: ApiKeyRepository,
    private readonly cache: PrincipalCache,
    private readonly usage: KeyUsageRecorder,
  ) {}

  async authenticate(secret: string): Promise<Principal | null> {
    const standing = await this.standing(secret);
    return typeof standing === 'string' ? null : standing;
  }

  /** The key's principal, or why it does not authenticate ('unknown': no such API key). */
  async standing(secret: string): Promise<Principal | CredentialFailure | 'unknown'> {
    const hash = hashCredential(secret);
    const cached = this.cache.get(hash);
    if (cached) {
      if (cached.apiKeyId) this.usage.record(cached.apiKeyId);
      return cached;
    }
    return this.cache.shared(hash, async (keep) => {
      const key = await this.repository.findBySecretHash(hash);
      if (!key || key.kind !== 'api_key') return 'unknown';
      const principal = principalOf(key);
      if (typeof principal === 'string') return principal;
      this.usage.record(key.id);
      // An expiring key leaves the cache when it expires, not up to a TTL later.
      keep(principal, standsUntil(key));
      return principal;
    });
  }

  /**
   * A key's or OAuth grant's principal as it stands now, found by id rather than by secret: for work done later
   * in its name (an approved call). Null when it would not authenticate any more.
   */
  async current(organizationId: string, id: string): Promise<Principal | null> {
    const credential = await this.repository.findCredential(organizationId, id);
    const principal = credential && principalOf(credential);
    return typeof principal === 'string' ? null : principal;
  }

  /** After keys or memberships changed in bulk (the config file was applied). */
  invalidateAll(): Promise<void> {
    return this.cache.invalidateAll();
  }

  // A key can never hold more than the principal that creates it, and belongs to the same person (or, with no
  // person, hangs from the minting key): what it may do follows theirs from then on.
  // `endpointId`: an endpoint key, usable at that endpoint only (the caller found the endpoint in the organization).
  async create(principal: Principal, input: CreateApiKeyInput, endpointId?: string): Promise<IssuedApiKey> {
    if (!roleIncludes(principal.role, input.role)) {
      throw GatehouseError.forbidden(`Cannot create a key with role ${input.role}: it exceeds your role (${principal.role})`);
    }
    if (input.access === 'read_write' && principal.access === 'read_only') {
      throw GatehouseError.forbidden('Cannot create a read_write key from a read_only key');
    }
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) throw GatehouseError.invalid('expiresAt: must be in the future');
    const secret = `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
    const key = await this.repository.create({
      organizationId: principal.organizationId,
      createdById: principal.userId,
      createdByKeyId: principal.apiKeyId,
      name: input.name,
      prefix: displayPrefix(secret),
      secretHash: hashCredential(secret),
      role: input.role,
      access: input.access,
      expiresAt: input.expiresAt ?? null,
      endpointId: endpointId ?? null,
    });
    return { key, secret };
  }

  list(organizationId: string): Promise<ApiKeyRecord[]> {
    return this.repository.listByOrganization(organizationId);
  }

  listForEndpoint(organizationId: string, endpointId: string): Promise<ApiKeyRecord[]> {
    return this.repository.listByEndpoint(organizationId, endpointId);
  }

  /** Keys that no longer exist (their endpoint was deleted): every replica forgets them. */
  async forget(ids: string[]): Promise<void> {
    for (const id of ids) await this.cache.keyRevoked(id);
  }

  find(organizationId: string, id: string): Promise<ApiKeyRecord | null> {
    return this.repository.findById(organizationId, id);
  }

  async revoke(organizationId: string, id: string): Promise<ApiKeyRecord> {
    const { key, revokedIds } = await this.repository.revoke(organizationId, id, new Date());
    if (!key) throw GatehouseError.notFound(`API key ${id} not found`);
    // An OAuth grant's tokens are checked against the grant, so this cuts the client off too.
    for (const revoked of revokedIds) await this.cache.keyRevoked(revoked);
    return key;
  }
}
