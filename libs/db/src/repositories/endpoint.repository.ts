import { isDeepStrictEqual } from 'node:util';
import { Injectable } from '@nestjs/common';
import { EndpointSelection, EndpointSpec } from '@gatehouse/config';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';
import { isUniqueViolation } from './unique-violation';

export interface EndpointRecord {
  id: string;
  organizationId: string;
  name: string;
  description: string;
  selection: EndpointSelection;
  unprefixed: boolean;
  configManaged: boolean;
  createdAt: Date;
  updatedAt: Date;
}

type Tx = Prisma.TransactionClient;
type Row = Prisma.EndpointGetPayload<object>;

function toRecord(row: Row): EndpointRecord {
  // Written only from endpointSelectionSchema's output (the API, the config file).
  return { ...row, selection: row.selection as EndpointSelection };
}

function columns(spec: EndpointSpec) {
  return { description: spec.description, selection: spec.selection as Prisma.InputJsonValue, unprefixed: spec.unprefixed };
}

@Injectable()
export class EndpointRepository {
  constructor(private readonly prisma: PrismaService) {}

  async list(organizationId: string): Promise<EndpointRecord[]> {
    return (await this.prisma.endpoint.findMany({ where: { organizationId }, orderBy: { name: 'asc' } })).map(toRecord);
  }

  async find(organizationId: string, name: string): Promise<EndpointRecord | null> {
    const row = await this.prisma.endpoint.findUnique({ where: { organizationId_name: { organizationId, name } } });
    return row && toRecord(row);
  }

  /** 'exists' when creating a name the organization has. */
  async create(organizationId: string, spec: EndpointSpec): Promise<EndpointRecord | 'exists'> {
    try {
      return toRecord(await this.prisma.endpoint.create({ data: { organizationId, name: spec.name, ...columns(spec) } }));
    } catch (error) {
      if (isUniqueViolation(error)) return 'exists';
      throw error;
    }
  }

  async update(organizationId: string, spec: EndpointSpec): Promise<EndpointRecord | null> {
    const { count } = await this.prisma.endpoint.updateMany({ where: { organizationId, name: spec.name, configManaged: false }, data: columns(spec) });
    return count ? this.find(organizationId, spec.name) : null;
  }

  /** Deletes the endpoint and, by the foreign key, its keys; returns their ids (for the principal cache). */
  async remove(organizationId: string, name: string): Promise<{ removed: boolean; keyIds: string[] }> {
    return this.prisma.$transaction(async (tx) => {
      const endpoint = await tx.endpoint.findUnique({ where: { organizationId_name: { organizationId, name } }, select: { id: true, keys: { select: { id: true } } } });
      if (!endpoint) return { removed: false, keyIds: [] };
      await tx.endpoint.delete({ where: { id: endpoint.id } });
      return { removed: true, keyIds: endpoint.keys.map((key) => key.id) };
    });
  }

  /**
   * The config file's endpoints, in its transaction: each declared one written when it differs or was not the
   * file's; the file's own that it no longer declares deleted (with their keys).
   */
  async applyIn(tx: Tx, organizationId: string, desired: EndpointSpec[]): Promise<{ created: number; updated: number; deleted: number }> {
    const existing = await tx.endpoint.findMany({ where: { organizationId } });
    const byName = new Map(existing.map((row) => [row.name, row]));
    const changes = { created: 0, updated: 0, deleted: 0 };
    for (const spec of desired) {
      const row = byName.get(spec.name);
      const data = { ...columns(spec), configManaged: true };
      if (row?.configManaged && row.description === spec.description && row.unprefixed === spec.unprefixed && isDeepStrictEqual(row.selection, spec.selection)) continue;
      if (row) {
        await tx.endpoint.update({ where: { id: row.id }, data });
        changes.updated++;
      } else {
        await tx.endpoint.create({ data: { organizationId, name: spec.name, ...data } });
        changes.created++;
      }
    }
    const wanted = new Set(desired.map((spec) => spec.name));
    const stale = existing.filter((row) => row.configManaged && !wanted.has(row.name)).map((row) => row.id);
    if (stale.length) changes.deleted += (await tx.endpoint.deleteMany({ where: { id: { in: stale } } })).count;
    return changes;
  }
}
