import { Injectable, Logger } from '@nestjs/common';
import { ConnectionSpec, GatehouseError } from '@gatehouse/config';
import { ConnectionRecord, ConnectionRepository, DuplicateConnectionNameError } from '@gatehouse/db';
import { EgressPolicy } from '@gatehouse/egress';
import { ConnectionAdmission } from './admission/connection-admission';
import { CatalogTool } from './catalog/catalog-tool';
import { ConnectionDetail, ConnectionHealth, ConnectionView, toConnectionHealth, toConnectionView } from './connection.views';
import { DownstreamClient } from './downstream/downstream-client';
import { describeError } from './downstream/downstream.errors';
import { ConnectionEvents } from './runtime/connection-events';
import { ConnectionRegistry } from './runtime/connection-registry';
import type { HeldBackTool } from './runtime/connection-runtime';

export interface ConnectionTestResult {
  ok: boolean;
  latencyMs: number;
  server: { name: string; version: string } | null;
  /** The MCP protocol version the downstream agreed to; null when it could not be reached. */
  protocolVersion: string | null;
  toolCount: number;
  tools: string[];
  error: string | null;
}

/** A connection's tools in this process: those served, and those held back for an admin's review. */
export interface ConnectionCatalog {
  connectionName: string;
  listed: readonly CatalogTool[];
  heldBack: HeldBackTool[];
}

// The one implementation behind the admin API and the gatehouse_* management tools. Every method takes the
// organization id, so no caller can reach another tenant's connections.
@Injectable()
export class ConnectionService {
  private readonly logger = new Logger(ConnectionService.name);

  constructor(
    private readonly repository: ConnectionRepository,
    private readonly registry: ConnectionRegistry,
    private readonly events: ConnectionEvents,
    private readonly admission: ConnectionAdmission,
    private readonly egress: EgressPolicy,
  ) {}

  async list(organizationId: string, detail: ConnectionDetail): Promise<ConnectionView[]> {
    return (await this.repository.listByOrganization(organizationId)).map((record) => toConnectionView(record, detail));
  }

  async get(organizationId: string, id: string, detail: ConnectionDetail): Promise<ConnectionView> {
    return toConnectionView(await this.require(organizationId, id), detail);
  }

  async create(organizationId: string, spec: ConnectionSpec): Promise<ConnectionView> {
    await this.admission.admit(spec);
    let record: ConnectionRecord;
    try {
      record = await this.repository.create(organizationId, spec);
    } catch (error) {
      throw this.translate(error, spec.name);
    }
    await this.propagate(record.id);
    return toConnectionView(record);
  }

  async update(organizationId: string, id: string, spec: ConnectionSpec): Promise<ConnectionView> {
    const existing = await this.require(organizationId, id);
    this.assertNotConfigManaged(existing);
    await this.admission.admit(spec);
    let record: ConnectionRecord | null;
    try {
      record = await this.repository.update(organizationId, id, spec);
    } catch (error) {
      throw this.translate(error, spec.name);
    }
    if (!record) throw GatehouseError.notFound(`Connection ${id} not found`);
    await this.propagate(id);
    return toConnectionView(record);
  }

  /** Returns what was deleted, for the record of who removed what. */
  async delete(organizationId: string, id: string): Promise<ConnectionView> {
    const existing = await this.require(organizationId, id);
    this.assertNotConfigManaged(existing);
    await this.repository.delete(organizationId, id);
    await this.propagate(id);
    return toConnectionView(existing);
  }

  /** Starts or stops serving a connection without changing its definition (and without resending its credentials). */
  async setEnabled(organizationId: string, id: string, enabled: boolean): Promise<ConnectionView> {
    this.assertNotConfigManaged(await this.require(organizationId, id));
    const record = await this.repository.setEnabled(organizationId, id, enabled);
    if (!record) throw GatehouseError.notFound(`Connection ${id} not found`);
    await this.propagate(id);
    return toConnectionView(record);
  }

  async health(organizationId: string): Promise<ConnectionHealth[]> {
    const records = await this.repository.listByOrganization(organizationId);
    return records.map((record) => toConnectionHealth(record, this.registry.runtime(record.id)));
  }

  async healthOf(organizationId: string, id: string): Promise<ConnectionHealth> {
    const record = await this.require(organizationId, id);
    return toConnectionHealth(record, this.registry.runtime(record.id));
  }

  async tools(organizationId: string, id: string): Promise<ConnectionCatalog> {
    const record = await this.require(organizationId, id);
    const runtime = this.registry.runtime(record.id);
    return { connectionName: record.name, listed: runtime?.list() ?? [], heldBack: runtime?.heldBack() ?? [] };
  }

  /** Re-reads the downstream's tool list now, in every replica. */
  async refresh(organizationId: string, id: string): Promise<ConnectionHealth> {
    const record = await this.require(organizationId, id);
    await this.registry.runtime(id)?.refresh();
    await this.events.publish({ type: 'refresh', connectionId: id });
    return toConnectionHealth(record, this.registry.runtime(id));
  }

  /** Connects with a throwaway client, lists tools and disconnects: nothing is stored or started. */
  async test(organizationId: string, id: string): Promise<ConnectionTestResult> {
    const record = await this.require(organizationId, id);
    if (record.unsealable) throw GatehouseError.conflict(`Connection "${record.name}" cannot be tested: ${record.unsealable}. Save it again with its credentials.`);
    const spec = ConnectionRepository.toSpec(record);
    if (!record.configManaged) await this.admission.admit(spec);
    return this.probe(spec);
  }

  /**
   * Tests a connection before it is saved: admitted exactly as create would admit it (the operator's stdio commands,
   * the egress policy), so trying is no way to reach what saving could not.
   */
  async testSpec(spec: ConnectionSpec): Promise<ConnectionTestResult> {
    await this.admission.admit(spec);
    return this.probe(spec);
  }

  private async probe(spec: ConnectionSpec): Promise<ConnectionTestResult> {
    const started = performance.now();
    const client = new DownstreamClient({
      ...spec,
      url: spec.url ?? null,
      command: spec.command ?? null,
      cwd: spec.cwd ?? null,
      egress: this.egress,
    });
    try {
      const tools = await client.listTools();
      const { serverInfo: server, protocolVersion } = client.snapshot;
      return {
        ok: true,
        latencyMs: Math.round(performance.now() - started),
        server: server ? { name: server.name, version: server.version } : null,
        protocolVersion,
        toolCount: tools.length,
        tools: tools.map((tool) => tool.name),
        error: null,
      };
    } catch (error) {
      return {
        ok: false,
        latencyMs: Math.round(performance.now() - started),
        server: null,
        protocolVersion: null,
        toolCount: 0,
        tools: [],
        error: describeError(error),
      };
    } finally {
      await client.close();
    }
  }

  private async require(organizationId: string, id: string): Promise<ConnectionRecord> {
    const record = await this.repository.findById(organizationId, id);
    if (!record) throw GatehouseError.notFound(`Connection ${id} not found`);
    return record;
  }

  private assertNotConfigManaged(record: ConnectionRecord): void {
    if (record.configManaged) {
      throw GatehouseError.conflict(
        `Connection "${record.name}" is managed by the config file; change it there and re-apply`,
      );
    }
  }

  // Apply here before answering (so the caller sees the result at once), then tell the other replicas.
  private async propagate(connectionId: string): Promise<void> {
    await this.registry.reload(connectionId);
    await this.events
      .publish({ type: 'changed', connectionId })
      .catch((error: unknown) => this.logger.warn({ err: error }, 'Could not publish connection change'));
  }

  private translate(error: unknown, name: string): unknown {
    if (error instanceof DuplicateConnectionNameError) {
      return GatehouseError.conflict(`A connection named "${name}" already exists in this organization`);
    }
    return error;
  }
}
