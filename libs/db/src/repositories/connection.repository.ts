import { Injectable } from '@nestjs/common';
import { ConnectionSpec, TransportKind } from '@gatehouse/config';
import { SecretCipher } from '../crypto/secret-cipher';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';

export type ConnectionStatusName = 'pending' | 'connected' | 'degraded' | 'down' | 'disabled';

export interface ConnectionRecord {
  id: string;
  organizationId: string;
  name: string;
  transport: TransportKind;
  url: string | null;
  command: string | null;
  args: string[];
  cwd: string | null;
  env: Record<string, string>;
  headers: Record<string, string>;
  callTimeoutMs: number;
  connectTimeoutMs: number;
  maxConcurrency: number;
  callDeadlineMs: number;
  maxReplyBytes: number;
  maxSseEventBytes: number;
  maxStderrLineBytes: number;
  enabled: boolean;
  status: ConnectionStatusName;
  statusMessage: string | null;
  statusChangedAt: Date | null;
  configManaged: boolean;
  createdAt: Date;
  updatedAt: Date;
}

type Row = Prisma.ConnectionGetPayload<object>;

interface StoredSecrets {
  env: Record<string, string>;
  headers: Record<string, string>;
}

@Injectable()
export class ConnectionRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly cipher: SecretCipher,
  ) {}

  async create(organizationId: string, spec: ConnectionSpec, configManaged = false): Promise<ConnectionRecord> {
    try {
      const row = await this.prisma.connection.create({
        data: { organizationId, configManaged, ...this.toColumns(spec) },
      });
      return this.toRecord(row);
    } catch (error) {
      throw this.translate(error);
    }
  }

  async update(organizationId: string, id: string, spec: ConnectionSpec): Promise<ConnectionRecord | null> {
    try {
      const { count } = await this.prisma.connection.updateMany({
        where: { id, organizationId },
        data: { ...this.toColumns(spec), status: 'pending', statusMessage: null },
      });
      return count ? this.findById(organizationId, id) : null;
    } catch (error) {
      throw this.translate(error);
    }
  }

  async delete(organizationId: string, id: string): Promise<boolean> {
    const { count } = await this.prisma.connection.deleteMany({ where: { id, organizationId } });
    return count > 0;
  }

  async findById(organizationId: string, id: string): Promise<ConnectionRecord | null> {
    const row = await this.prisma.connection.findFirst({ where: { id, organizationId } });
    return row ? this.toRecord(row) : null;
  }

  async findByName(organizationId: string, name: string): Promise<ConnectionRecord | null> {
    const row = await this.prisma.connection.findUnique({ where: { organizationId_name: { organizationId, name } } });
    return row ? this.toRecord(row) : null;
  }

  async listByOrganization(organizationId: string): Promise<ConnectionRecord[]> {
    const rows = await this.prisma.connection.findMany({ where: { organizationId }, orderBy: { name: 'asc' } });
    return rows.map((row) => this.toRecord(row));
  }

  /** Every organization's connections: only the runtime that hosts the downstream clients needs this. */
  async listAllForRuntime(): Promise<ConnectionRecord[]> {
    const rows = await this.prisma.connection.findMany({ orderBy: { createdAt: 'asc' } });
    return rows.map((row) => this.toRecord(row));
  }

  async findByIdForRuntime(id: string): Promise<ConnectionRecord | null> {
    const row = await this.prisma.connection.findUnique({ where: { id } });
    return row ? this.toRecord(row) : null;
  }

  // Raw SQL on purpose: runtime status is not a change to the connection, so updated_at (Prisma's
  // @updatedAt on any update) must not move.
  async recordStatus(id: string, status: ConnectionStatusName, message: string | null): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE connections
      SET status = ${status}::"ConnectionStatus", status_message = ${message}, status_changed_at = now()
      WHERE id = ${id}::uuid`;
  }

  /** The spec a record was made from, for comparisons (config apply) and updates. */
  static toSpec(record: ConnectionRecord): ConnectionSpec {
    return {
      name: record.name,
      transport: record.transport,
      ...(record.url ? { url: record.url } : {}),
      ...(record.command ? { command: record.command } : {}),
      args: record.args,
      ...(record.cwd ? { cwd: record.cwd } : {}),
      env: record.env,
      headers: record.headers,
      callTimeoutMs: record.callTimeoutMs,
      connectTimeoutMs: record.connectTimeoutMs,
      maxConcurrency: record.maxConcurrency,
      callDeadlineMs: record.callDeadlineMs,
      maxReplyBytes: record.maxReplyBytes,
      maxSseEventBytes: record.maxSseEventBytes,
      maxStderrLineBytes: record.maxStderrLineBytes,
      enabled: record.enabled,
    };
  }

  toColumns(spec: ConnectionSpec) {
    const secrets: StoredSecrets = { env: spec.env, headers: spec.headers };
    const hasSecrets = Object.keys(spec.env).length > 0 || Object.keys(spec.headers).length > 0;
    return {
      name: spec.name,
      transport: spec.transport,
      url: spec.url ?? null,
      command: spec.command ?? null,
      args: spec.args,
      cwd: spec.cwd ?? null,
      secrets: hasSecrets ? this.cipher.encrypt(JSON.stringify(secrets)) : null,
      callTimeoutMs: spec.callTimeoutMs,
      connectTimeoutMs: spec.connectTimeoutMs,
      maxConcurrency: spec.maxConcurrency,
      callDeadlineMs: spec.callDeadlineMs,
      maxReplyBytes: spec.maxReplyBytes,
      maxSseEventBytes: spec.maxSseEventBytes,
      maxStderrLineBytes: spec.maxStderrLineBytes,
      enabled: spec.enabled,
    };
  }

  toRecord(row: Row): ConnectionRecord {
    const { secrets, ...rest } = row;
    const decoded: StoredSecrets = secrets ? JSON.parse(this.cipher.decrypt(secrets)) : { env: {}, headers: {} };
    return { ...rest, env: decoded.env, headers: decoded.headers };
  }

  private translate(error: unknown): unknown {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      return new DuplicateConnectionNameError();
    }
    return error;
  }
}

export class DuplicateConnectionNameError extends Error {
  constructor() {
    super('A connection with this name already exists in the organization');
  }
}
