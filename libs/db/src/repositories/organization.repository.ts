import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';

export interface OrganizationRecord {
  id: string;
  slug: string;
  name: string;
  configManaged: boolean;
}

export interface ToolReviewSettings {
  autoAcceptChanges: boolean;
  holdNewTools: boolean;
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

  /**
   * How the organization reviews its downstreams' tools: whether changed definitions are accepted without an
   * admin, and whether tools with new names are held. An unknown organization reviews everything.
   */
  async toolReview(id: string): Promise<ToolReviewSettings> {
    const row = await this.prisma.organization.findUnique({ where: { id }, select: { autoAcceptToolChanges: true, holdNewTools: true } });
    return { autoAcceptChanges: row?.autoAcceptToolChanges ?? false, holdNewTools: row?.holdNewTools ?? true };
  }

  /** Whether credentials with no person behind them may decide approval requests. */
  async allowsKeyApprovals(id: string): Promise<boolean> {
    const row = await this.prisma.organization.findUnique({ where: { id }, select: { keyApprovals: true } });
    return row?.keyApprovals ?? false;
  }
}
