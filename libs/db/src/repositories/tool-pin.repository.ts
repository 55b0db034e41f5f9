import { Injectable } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';

/** The accepted definition of one downstream tool (by its downstream name). */
export interface ToolPinRecord {
  name: string;
  hash: string;
  definition: Record<string, unknown>;
  acceptedAt: Date;
  /** null for a first definition, pinned as it was first seen. */
  acceptedBy: string | null;
}

export interface ToolDefinitionToPin {
  name: string;
  hash: string;
  definition: Record<string, unknown>;
}

const SELECT = { name: true, hash: true, definition: true, acceptedAt: true, acceptedBy: true } as const;

// Pins are per connection and keyed by the downstream name; they outlive the tool (a tool that disappears and
// comes back is compared with its old pin, not pinned afresh).
@Injectable()
export class ToolPinRepository {
  constructor(private readonly prisma: PrismaService) {}

  async listForConnection(connectionId: string): Promise<ToolPinRecord[]> {
    const rows = await this.prisma.toolPin.findMany({ where: { connectionId }, select: SELECT });
    return rows.map((row) => ({ ...row, definition: row.definition as Record<string, unknown> }));
  }

  /** Pins definitions seen for the first time. The first writer wins: replicas racing here keep one pin each. */
  async pinFirstDefinitions(connectionId: string, tools: ToolDefinitionToPin[]): Promise<void> {
    if (!tools.length) return;
    await this.prisma.toolPin.createMany({
      data: tools.map((tool) => ({
        connectionId,
        name: tool.name,
        hash: tool.hash,
        definition: tool.definition as Prisma.InputJsonValue,
      })),
      skipDuplicates: true,
    });
  }

  /**
   * Replaces the pinned definition with `accepted`, only while the pin still holds `pinnedHash` (optimistic:
   * of two admins or replicas accepting at once, one wins). False when the pin moved on meanwhile.
   */
  async accept(
    organizationId: string,
    connectionId: string,
    name: string,
    change: { pinnedHash: string; accepted: ToolDefinitionToPin; acceptedBy: string },
  ): Promise<boolean> {
    const { count } = await this.prisma.toolPin.updateMany({
      where: { connectionId, name, hash: change.pinnedHash, connection: { organizationId } },
      data: {
        hash: change.accepted.hash,
        definition: change.accepted.definition as Prisma.InputJsonValue,
        acceptedAt: new Date(),
        acceptedBy: change.acceptedBy,
      },
    });
    return count === 1;
  }
}
