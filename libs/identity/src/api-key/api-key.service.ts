import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { GatehouseError, ROLE_RANK } from '@gatehouse/config';
import { ApiKeyRecord, ApiKeyRepository } from '@gatehouse/db';
import { hashCredential } from '../auth/credential-hash';
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
    const hash = hashCredential(secret);
    const cached = this.cache.get(hash);
    if (cached) {
      this.usage.record(cached.apiKeyId);
      return cached;
    }
    const key = await this.repository.findBySecretHash(hash);
    if (!key || key.revokedAt || key.kind !== 'api_key') return null;
    this.usage.record(key.id);
    const principal: Principal = {
      kind: 'api_key',
      subject: `api_key:${key.id}`,
      organizationId: key.organizationId,
      organizationSlug: key.organization.slug,
      role: key.role,
      access: key.access,
      administration: true,
      apiKeyId: key.id,
      userId: key.createdById,
      userEmail: key.createdBy?.email ?? null,
      clientId: null,
      client: null,
      name: key.name,
    };
    this.cache.set(hash, principal);
    return principal;
  }

  /** After keys or memberships changed in bulk (the config file was applied). */
  invalidateAll(): Promise<void> {
    return this.cache.invalidateAll();
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
      secretHash: hashCredential(secret),
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
    // An OAuth grant's tokens are checked against the grant, so this cuts the client off too.
    await this.cache.keyRevoked(id);
    return key;
  }

}
