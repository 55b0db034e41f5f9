import { Injectable } from '@nestjs/common';
import { ApiKeyAccessLevel, RoleName } from '@gatehouse/config';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';

export interface ApiKeyRecord {
  id: string;
  organizationId: string;
  /** The person behind the key (for a key minted by a key: the person behind that one); null for none. */
  createdById: string | null;
  /** The key that minted this one, when a key did. */
  createdByKeyId: string | null;
  /** api_key, or oauth_grant: created when a person authorized an OAuth client. */
  kind: 'api_key' | 'oauth_grant';
  name: string;
  prefix: string;
  role: RoleName;
  access: ApiKeyAccessLevel;
  configManaged: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  /** After this the key does not authenticate; null: never. */
  expiresAt: Date | null;
  /** An endpoint key (or OAuth grant for an endpoint): usable at that endpoint only. */
  endpointId: string | null;
}

/** A key in the chain above a key with no person behind it. */
export interface MintingKey {
  id: string;
  role: RoleName;
  access: ApiKeyAccessLevel;
  revokedAt: Date | null;
  expiresAt: Date | null;
  createdByKeyId: string | null;
}

/** What deciding a credential's standing needs: the key (or OAuth grant), its organization, and who stands behind it. */
export interface CredentialRecord {
  id: string;
  kind: 'api_key' | 'oauth_grant';
  name: string;
  prefix: string;
  role: RoleName;
  access: ApiKeyAccessLevel;
  revokedAt: Date | null;
  expiresAt: Date | null;
  /** The endpoint the credential is bound to (null: any door of its organization, or /mcp for an OAuth grant). */
  endpoint: { id: string; name: string } | null;
  organization: { id: string; slug: string };
  userId: string | null;
  userEmail: string | null;
  /** The person's role in the credential's organization now; null when nobody is behind it or they left. */
  memberRole: RoleName | null;
  createdByKeyId: string | null;
  /** For a key with no person that a key minted: the minting keys, nearest first, up to the root. */
  mintedBy: MintingKey[];
  /** OAuth grants: the client's database id, and its public client_id and name. */
  clientId: string | null;
  client: { clientId: string; name: string } | null;
}

export interface NewApiKey {
  organizationId: string;
  createdById: string | null;
  createdByKeyId: string | null;
  name: string;
  prefix: string;
  secretHash: string;
  role: RoleName;
  access: ApiKeyAccessLevel;
  expiresAt?: Date | null;
  endpointId?: string | null;
}

const SELECT = {
  id: true,
  organizationId: true,
  createdById: true,
  createdByKeyId: true,
  kind: true,
  name: true,
  prefix: true,
  role: true,
  access: true,
  configManaged: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
  expiresAt: true,
  endpointId: true,
} as const;

export const CREDENTIAL_SELECT = {
  id: true,
  kind: true,
  name: true,
  prefix: true,
  role: true,
  access: true,
  revokedAt: true,
  expiresAt: true,
  endpoint: { select: { id: true, name: true } },
  createdById: true,
  createdByKeyId: true,
  clientId: true,
  organization: { select: { id: true, slug: true } },
  // The person's memberships (a handful), to read their current role in the credential's organization.
  createdBy: { select: { email: true, memberships: { select: { organizationId: true, role: true } } } },
  client: { select: { clientId: true, name: true } },
} as const;

type CredentialRow = Prisma.ApiKeyGetPayload<{ select: typeof CREDENTIAL_SELECT }>;

/** A credential row as its standing is decided from; `mintedBy` is filled by the caller for person-less keys. */
export function toCredential(row: CredentialRow, mintedBy: MintingKey[] = []): CredentialRecord {
  const membership = row.createdBy?.memberships.find((m) => m.organizationId === row.organization.id);
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    prefix: row.prefix,
    role: row.role,
    access: row.access,
    revokedAt: row.revokedAt,
    expiresAt: row.expiresAt,
    endpoint: row.endpoint,
    organization: row.organization,
    userId: row.createdById,
    userEmail: row.createdBy?.email ?? null,
    memberRole: membership?.role ?? null,
    createdByKeyId: row.createdByKeyId,
    mintedBy,
    clientId: row.clientId,
    client: row.client,
  };
}

// Deeper chains than this are not followed; a key below one does not authenticate.
const MAX_CHAIN = 32;

type Tx = Prisma.TransactionClient;

@Injectable()
export class ApiKeyRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(key: NewApiKey): Promise<ApiKeyRecord> {
    return this.prisma.apiKey.create({ data: key, select: SELECT });
  }

  /** The hot path of every request (on a cache miss): one indexed lookup, plus the chain of a key minted by a key. */
  async findBySecretHash(secretHash: string): Promise<CredentialRecord | null> {
    const row = await this.prisma.apiKey.findUnique({ where: { secretHash }, select: CREDENTIAL_SELECT });
    return row && this.withChain(row);
  }

  /** A key or OAuth grant by id, as it stands now: for work done later in its name. */
  async findCredential(organizationId: string, id: string): Promise<CredentialRecord | null> {
    const row = await this.prisma.apiKey.findFirst({ where: { id, organizationId }, select: CREDENTIAL_SELECT });
    return row && this.withChain(row);
  }

  listByOrganization(organizationId: string): Promise<ApiKeyRecord[]> {
    return this.prisma.apiKey.findMany({ where: { organizationId }, select: SELECT, orderBy: { createdAt: 'asc' } });
  }

  listByEndpoint(organizationId: string, endpointId: string): Promise<ApiKeyRecord[]> {
    return this.prisma.apiKey.findMany({ where: { organizationId, endpointId }, select: SELECT, orderBy: { createdAt: 'asc' } });
  }

  /** The ids of the organization's unrevoked API keys (not OAuth grants) of this name: names need not be unique. */
  async activeIdsByName(organizationId: string, name: string, tx: Tx | PrismaService = this.prisma): Promise<string[]> {
    const rows = await tx.apiKey.findMany({ where: { organizationId, name, kind: 'api_key', revokedAt: null }, select: { id: true } });
    return rows.map((row) => row.id);
  }

  findById(organizationId: string, id: string): Promise<ApiKeyRecord | null> {
    return this.prisma.apiKey.findFirst({ where: { id, organizationId }, select: SELECT });
  }

  /**
   * Revokes the key and, in the same statement, every key minted from it (at any depth): a leaked key cannot
   * leave working keys behind. Idempotent: a key revoked earlier keeps its first revocation time. Returns the
   * key and the ids revoked now.
   */
  async revoke(organizationId: string, id: string, at: Date): Promise<{ key: ApiKeyRecord | null; revokedIds: string[] }> {
    const revokedIds = await this.revokeTreesIn(this.prisma, organizationId, [id], at);
    return { key: await this.findById(organizationId, id), revokedIds };
  }

  /**
   * Inside a transaction: revokes the given keys and every key minted from them, with the tokens of OAuth
   * grants among them. Returns the ids revoked now.
   */
  async revokeTreesIn(tx: Tx | PrismaService, organizationId: string, ids: string[], at: Date): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await tx.$queryRaw<{ id: string }[]>`
      WITH RECURSIVE tree AS (
        SELECT id FROM api_keys WHERE id = ANY(${ids}::uuid[]) AND organization_id = ${organizationId}::uuid
        UNION
        SELECT k.id FROM api_keys k JOIN tree t ON k.created_by_key_id = t.id
      )
      UPDATE api_keys SET revoked_at = ${at} WHERE id IN (SELECT id FROM tree) AND revoked_at IS NULL RETURNING id::text AS id`;
    const revoked = rows.map((row) => row.id);
    if (revoked.length) await tx.oAuthToken.updateMany({ where: { grantId: { in: revoked }, revokedAt: null }, data: { revokedAt: at } });
    return revoked;
  }

  /** Inside a transaction: revokes every key and OAuth grant of these people in the organization (and what they minted). */
  async revokePeopleIn(tx: Tx, organizationId: string, userIds: string[], at: Date): Promise<string[]> {
    const keys = await tx.apiKey.findMany({ where: { organizationId, createdById: { in: userIds } }, select: { id: true } });
    return this.revokeTreesIn(tx, organizationId, keys.map((key) => key.id), at);
  }

  async touchLastUsed(id: string, at: Date): Promise<void> {
    await this.prisma.apiKey.update({ where: { id }, data: { lastUsedAt: at }, select: { id: true } });
  }

  // A key with no person behind it holds no more than the keys above it, so their standing is read with it.
  private async withChain(row: CredentialRow): Promise<CredentialRecord> {
    if (row.createdById !== null || row.createdByKeyId === null) return toCredential(row);
    const chain = await this.prisma.$queryRaw<{ id: string; role: RoleName; access: ApiKeyAccessLevel; revoked_at: Date | null; expires_at: Date | null; created_by_key_id: string | null }[]>`
      WITH RECURSIVE chain AS (
        SELECT id, created_by_key_id, role, access, revoked_at, expires_at, 1 AS depth FROM api_keys WHERE id = ${row.createdByKeyId}::uuid
        UNION ALL
        SELECT k.id, k.created_by_key_id, k.role, k.access, k.revoked_at, k.expires_at, c.depth + 1
        FROM api_keys k JOIN chain c ON k.id = c.created_by_key_id WHERE c.depth < ${MAX_CHAIN}
      )
      SELECT id::text AS id, role::text AS role, access::text AS access, revoked_at, expires_at, created_by_key_id::text AS created_by_key_id FROM chain ORDER BY depth`;
    return toCredential(
      row,
      chain.map((key) => ({ id: key.id, role: key.role, access: key.access, revokedAt: key.revoked_at, expiresAt: key.expires_at, createdByKeyId: key.created_by_key_id })),
    );
  }
}
