import { Injectable } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';

export interface StoredToolDefinition {
  name: string;
  exposedName: string;
  hash: string;
  definition: Record<string, unknown>;
}

@Injectable()
export class ToolDefinitionRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** updatedAt: when the stored definition last changed (or moved in the list). */
  async listForConnection(connectionId: string): Promise<(StoredToolDefinition & { updatedAt: Date })[]> {
    const rows = await this.prisma.toolDefinition.findMany({ where: { connectionId }, orderBy: { position: 'asc' } });
    return rows.map((row) => ({
      name: row.name,
      exposedName: row.exposedName,
      hash: row.hash,
      definition: row.definition as Record<string, unknown>,
      updatedAt: row.updatedAt,
    }));
  }

  /** Replaces a connection's cached list in one transaction, touching only rows that changed. */
  async replaceForConnection(connectionId: string, tools: StoredToolDefinition[]): Promise<void> {
    const existing = await this.prisma.toolDefinition.findMany({
      where: { connectionId },
      select: { name: true, hash: true, position: true, exposedName: true },
    });
    const byName = new Map(existing.map((row) => [row.name, row]));
    const wanted = new Set(tools.map((tool) => tool.name));
    const writes: Prisma.PrismaPromise<unknown>[] = [
      this.prisma.toolDefinition.deleteMany({ where: { connectionId, name: { notIn: [...wanted] } } }),
    ];
    tools.forEach((tool, position) => {
      const row = byName.get(tool.name);
      if (row && row.hash === tool.hash && row.position === position && row.exposedName === tool.exposedName) return;
      const data = {
        exposedName: tool.exposedName,
        hash: tool.hash,
        position,
        definition: tool.definition as Prisma.InputJsonValue,
      };
      writes.push(
        this.prisma.toolDefinition.upsert({
          where: { connectionId_name: { connectionId, name: tool.name } },
          create: { connectionId, name: tool.name, ...data },
          update: data,
        }),
      );
    });
    if (writes.length > 1 || existing.length !== tools.length) await this.prisma.$transaction(writes);
  }
}
