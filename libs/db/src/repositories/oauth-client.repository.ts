import { Injectable } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';

export type OAuthClientKind = 'registered' | 'metadata_document';

export interface OAuthClientRecord {
  id: string;
  clientId: string;
  kind: OAuthClientKind;
  name: string;
  redirectUris: string[];
  tokenEndpointAuthMethod: string;
  secretHash: string | null;
  metadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

export type NewOAuthClient = Omit<OAuthClientRecord, 'id' | 'createdAt' | 'updatedAt'>;

@Injectable()
export class OAuthClientRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(client: NewOAuthClient): Promise<OAuthClientRecord> {
    return this.toRecord(await this.prisma.oAuthClient.create({ data: { ...client, metadata: client.metadata as Prisma.InputJsonObject } }));
  }

  async findByClientId(clientId: string): Promise<OAuthClientRecord | null> {
    const row = await this.prisma.oAuthClient.findUnique({ where: { clientId } });
    return row && this.toRecord(row);
  }

  /** Metadata-document clients are re-fetched when their cache expires; the row keeps its id and grants. */
  async upsertDocumentClient(client: NewOAuthClient): Promise<OAuthClientRecord> {
    const data = { ...client, metadata: client.metadata as Prisma.InputJsonObject };
    return this.toRecord(await this.prisma.oAuthClient.upsert({ where: { clientId: client.clientId }, create: data, update: data }));
  }

  private toRecord(row: Prisma.OAuthClientGetPayload<object>): OAuthClientRecord {
    return { ...row, metadata: row.metadata as Record<string, unknown> };
  }
}
