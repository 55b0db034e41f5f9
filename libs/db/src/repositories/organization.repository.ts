import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';

export interface OrganizationRecord {
  id: string;
  slug: string;
  name: string;
  configManaged: boolean;
}

const SELECT = { id: true, slug: true, name: true, configManaged: true } as const;

@Injectable()
export class OrganizationRepository {
  constructor(private readonly prisma: PrismaService) {}

  findBySlug(slug: string): Promise<OrganizationRecord | null> {
    return this.prisma.organization.findUnique({ where: { slug }, select: SELECT });
  }

  findById(id: string): Promise<OrganizationRecord | null> {
    return this.prisma.organization.findUnique({ where: { id }, select: SELECT });
  }

  create(input: { slug: string; name: string }): Promise<OrganizationRecord> {
    return this.prisma.organization.create({ data: input, select: SELECT });
  }

  /** Whether changed downstream tool definitions are accepted without an admin's review. */
  async autoAcceptsToolChanges(id: string): Promise<boolean> {
    const row = await this.prisma.organization.findUnique({ where: { id }, select: { autoAcceptToolChanges: true } });
    return row?.autoAcceptToolChanges ?? false;
  }

  /** Whether credentials with no person behind them may decide approval requests. */
  async allowsKeyApprovals(id: string): Promise<boolean> {
    const row = await this.prisma.organization.findUnique({ where: { id }, select: { keyApprovals: true } });
    return row?.keyApprovals ?? false;
  }
}
