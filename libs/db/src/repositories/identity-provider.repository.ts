import { Injectable } from '@nestjs/common';
import { RoleName } from '@gatehouse/config';
import { SecretCipher, secretBinding } from '../crypto/secret-cipher';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';

export interface IdentityProviderSpec {
  issuer: string;
  clientId: string;
  clientSecret: string;
  allowedDomains: string[];
  groupsClaim: string | null;
  roleMap: Record<string, RoleName>;
  defaultRole: RoleName;
}

export interface IdentityProviderSummary {
  id: string;
  organization: { id: string; slug: string; name: string };
}

export interface IdentityProviderRecord extends IdentityProviderSpec, IdentityProviderSummary {
  configManaged: boolean;
  updatedAt: Date;
}

type Row = Prisma.IdentityProviderGetPayload<{ include: { organization: { select: { id: true; slug: true; name: true } } } }>;

const INCLUDE = { organization: { select: { id: true, slug: true, name: true } } } as const;

// The client secret is stored encrypted and only ever decrypted here, on its way to the OIDC client.
@Injectable()
export class IdentityProviderRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly cipher: SecretCipher,
  ) {}

  /** The providers whose allowed domains include this one (lower-cased): the sign-in page's candidates for an email. */
  listAcceptingDomain(domain: string): Promise<IdentityProviderSummary[]> {
    return this.prisma.identityProvider.findMany({
      where: { allowedDomains: { has: domain } },
      select: { id: true, organization: INCLUDE.organization },
      orderBy: { organization: { name: 'asc' } },
    });
  }

  async findById(id: string): Promise<IdentityProviderRecord | null> {
    const row = await this.prisma.identityProvider.findUnique({ where: { id }, include: INCLUDE });
    return row && this.toRecord(row);
  }

  async findByOrganization(organizationId: string): Promise<IdentityProviderRecord | null> {
    const row = await this.prisma.identityProvider.findUnique({ where: { organizationId }, include: INCLUDE });
    return row && this.toRecord(row);
  }

  async save(organizationId: string, spec: IdentityProviderSpec, configManaged: boolean): Promise<IdentityProviderRecord> {
    const data = { ...this.toColumns(organizationId, spec), configManaged };
    const row = await this.prisma.identityProvider.upsert({ where: { organizationId }, create: { organizationId, ...data }, update: data, include: INCLUDE });
    return this.toRecord(row);
  }

  async delete(organizationId: string): Promise<boolean> {
    return (await this.prisma.identityProvider.deleteMany({ where: { organizationId } })).count > 0;
  }

  toColumns(organizationId: string, spec: IdentityProviderSpec) {
    return {
      issuer: spec.issuer,
      clientId: spec.clientId,
      clientSecret: this.cipher.seal(spec.clientSecret, secretBinding.identityProvider(organizationId)),
      allowedDomains: spec.allowedDomains,
      groupsClaim: spec.groupsClaim,
      roleMap: spec.roleMap,
      defaultRole: spec.defaultRole,
    };
  }

  /** The spec a stored row describes (secret decrypted), to compare with a desired one. */
  toSpec(row: Prisma.IdentityProviderGetPayload<object>): IdentityProviderSpec {
    return {
      issuer: row.issuer,
      clientId: row.clientId,
      clientSecret: this.cipher.open(row.clientSecret, secretBinding.identityProvider(row.organizationId)),
      allowedDomains: row.allowedDomains,
      groupsClaim: row.groupsClaim,
      roleMap: row.roleMap as Record<string, RoleName>,
      defaultRole: row.defaultRole,
    };
  }

  private toRecord(row: Row): IdentityProviderRecord {
    return { id: row.id, organization: row.organization, configManaged: row.configManaged, updatedAt: row.updatedAt, ...this.toSpec(row) };
  }
}
