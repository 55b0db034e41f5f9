import { Injectable } from '@nestjs/common';
import { ConnectionSpec, TransportKind } from '@gatehouse/config';
import { SealedSecretError, SecretCipher, secretBinding } from '../crypto/secret-cipher';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';
import { isUniqueViolation } from './unique-violation';

export type ConnectionStatusName = 'pending' | 'connected' | 'degraded' | 'down' | 'disabled';

export interface ConnectionRecord {
  id: string;
  organizationId: string;
  name: string;
  transport: TransportKind;
  /** The whole URL (its path and query may carry a token). */
  url: string | null;
  /** Scheme, host and port only: what may be shown to anyone who may see the connection. */
  origin: string | null;
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
  /** Labels endpoints select the connection by. */
  tags: string[];
  enabled: boolean;
  status: ConnectionStatusName;
  statusMessage: string | null;
  statusChangedAt: Date | null;
  configManaged: boolean;
  createdAt: Date;
  updatedAt: Date;
  /**
   * Why its sealed credentials do not open (another GATEHOUSE_SECRET_KEY, an envelope moved from another row), or
   * null. Such a connection is listed but never started: its URL, arguments and credentials are unknown.
   */
  unsealable: string | null;
}

type Row = Prisma.ConnectionGetPayload<object>;

// Everything of a connection that may carry a credential is sealed in one envelope bound to the connection:
// environment and headers, and the URL and arguments, which people put tokens in too. The row keeps only the
// URL's origin, for display.
interface StoredSecrets {
  env: Record<string, string>;
  headers: Record<string, string>;
  url: string | null;
  args: string[];
}

/** Scheme, host and port of a URL, never its user info, path or query. */
export function urlOrigin(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
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
        data: { organizationId, configManaged, ...this.toColumns(organizationId, spec) },
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
        data: { ...this.toColumns(organizationId, spec), status: 'pending', statusMessage: null },
      });
      return count ? this.findById(organizationId, id) : null;
    } catch (error) {
      throw this.translate(error);
    }
  }

  async setEnabled(organizationId: string, id: string, enabled: boolean): Promise<ConnectionRecord | null> {
    const { count } = await this.prisma.connection.updateMany({ where: { id, organizationId }, data: { enabled, status: enabled ? 'pending' : 'disabled', statusMessage: null } });
    return count ? this.findById(organizationId, id) : null;
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
      tags: record.tags,
      enabled: record.enabled,
    };
  }

  toColumns(organizationId: string, spec: ConnectionSpec) {
    const secrets: StoredSecrets = { env: spec.env, headers: spec.headers, url: spec.url ?? null, args: spec.args };
    return {
      name: spec.name,
      transport: spec.transport,
      url: urlOrigin(spec.url),
      command: spec.command ?? null,
      args: [],
      cwd: spec.cwd ?? null,
      secrets: this.cipher.seal(JSON.stringify(secrets), secretBinding.connection(organizationId, spec.name)),
      callTimeoutMs: spec.callTimeoutMs,
      connectTimeoutMs: spec.connectTimeoutMs,
      maxConcurrency: spec.maxConcurrency,
      callDeadlineMs: spec.callDeadlineMs,
      maxReplyBytes: spec.maxReplyBytes,
      maxSseEventBytes: spec.maxSseEventBytes,
      maxStderrLineBytes: spec.maxStderrLineBytes,
      tags: spec.tags,
      enabled: spec.enabled,
    };
  }

  toRecord(row: Row): ConnectionRecord {
    const { secrets, url: origin, ...rest } = row;
    let sealed: StoredSecrets = { env: {}, headers: {}, url: null, args: [] };
    let unsealable: string | null = null;
    try {
      if (secrets) sealed = JSON.parse(this.cipher.open(secrets, secretBinding.connection(row.organizationId, row.name))) as StoredSecrets;
    } catch (error) {
      if (!(error instanceof SealedSecretError)) throw error;
      unsealable = error.message;
    }
    return { ...rest, origin, url: sealed.url, args: sealed.args, env: sealed.env, headers: sealed.headers, unsealable };
  }

  private translate(error: unknown): unknown {
    if (isUniqueViolation(error)) {
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
