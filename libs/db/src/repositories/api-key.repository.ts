import { Injectable } from '@nestjs/common';
import { ApiKeyAccessLevel, RoleName } from '@gatehouse/config';
import { PrismaService } from '../prisma.service';

export interface ApiKeyRecord {
  id: string;
  organizationId: string;
  createdById: string | null;
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
}

export interface ApiKeyWithOrganization extends ApiKeyRecord {
  organization: { id: string; slug: string; name: string };
  createdBy: { email: string } | null;
}

export interface NewApiKey {
  organizationId: string;
  createdById: string | null;
  name: string;
  prefix: string;
  secretHash: string;
  role: RoleName;
  access: ApiKeyAccessLevel;
}

const SELECT = {
  id: true,
  organizationId: true,
  createdById: true,
  kind: true,
  name: true,
  prefix: true,
  role: true,
  access: true,
  configManaged: true,
  createdAt: true,
  lastUsedAt: true,
  revokedAt: true,
} as const;

@Injectable()
export class ApiKeyRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(key: NewApiKey): Promise<ApiKeyRecord> {
    return this.prisma.apiKey.create({ data: key, select: SELECT });
  }

  /** The hot path of every request: one indexed lookup, organization included. */
  findBySecretHash(secretHash: string): Promise<ApiKeyWithOrganization | null> {
    return this.prisma.apiKey.findUnique({
      where: { secretHash },
      select: { ...SELECT, organization: { select: { id: true, slug: true, name: true } }, createdBy: { select: { email: true } } },
    });
  }

  listByOrganization(organizationId: string): Promise<ApiKeyRecord[]> {
    return this.prisma.apiKey.findMany({ where: { organizationId }, select: SELECT, orderBy: { createdAt: 'asc' } });
  }

  findById(organizationId: string, id: string): Promise<ApiKeyRecord | null> {
    return this.prisma.apiKey.findFirst({ where: { id, organizationId }, select: SELECT });
  }

  /** Idempotent: a key revoked earlier keeps its first revocation time. */
  async revoke(organizationId: string, id: string, at: Date): Promise<ApiKeyRecord | null> {
    await this.prisma.apiKey.updateMany({ where: { id, organizationId, revokedAt: null }, data: { revokedAt: at } });
    return this.findById(organizationId, id);
  }

  async touchLastUsed(id: string, at: Date): Promise<void> {
    await this.prisma.apiKey.update({ where: { id }, data: { lastUsedAt: at }, select: { id: true } });
  }
}
