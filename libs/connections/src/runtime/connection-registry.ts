import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { ConnectionRecord, ConnectionRepository, ConnectionStatusName, ToolDefinitionRepository } from '@gatehouse/db';
import { GatehouseError } from '@gatehouse/config';
import { EgressPolicy } from '@gatehouse/egress';
import { ConnectionAdmission } from '../admission/connection-admission';
import { ArgumentIssues, ArgumentValidators } from '../catalog/argument-validator';
import { canonicalJson } from '../catalog/canonical-json';
import { CatalogTool } from '../catalog/catalog-tool';
import type { ListingKind } from '../catalog/connection-listings';
import { DownstreamState } from '../downstream/downstream-client';
import { GatewayMetrics } from '../metrics/gateway-metrics';
import { connectionOf } from '../naming/tool-naming';
import { ToolPinning } from '../pinning/tool-pinning';
import { ConnectionEvents } from './connection-events';
import { ConnectionRuntime, specFingerprint } from './connection-runtime';

const STATUS: Record<DownstreamState, ConnectionStatusName | null> = {
  connecting: 'pending',
  connected: 'connected',
  down: 'down',
  closed: null,
};

export interface ResolvedTool {
  runtime: ConnectionRuntime;
  tool: CatalogTool;
  /** Set when the tool's definition changed and awaits an admin's review: calls are refused with `reason`. */
  heldBack?: { since: Date; reason: string };
}

const AD_HOC_SCHEMAS = 256;

// Every connection this process runs, indexed by organization. Started after the config file is applied,
// kept in step with the database through ConnectionEvents, and closed (children reaped) on shutdown.
@Injectable()
export class ConnectionRegistry implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ConnectionRegistry.name);
  private readonly runtimes = new Map<string, ConnectionRuntime>();
  private readonly byOrganization = new Map<string, Map<string, ConnectionRuntime>>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly toolChanges = new EventEmitter();
  private readonly validators = new ArgumentValidators();
  // Schemas checked outside calls (workflow definitions, a run's inputs) are admins' text: only the most recently
  // used are kept compiled, so saving ever new ones cannot grow the process.
  private readonly adHocSchemas = new Map<string, ArgumentIssues>();
  private started = false;
  // Every connection's runtime created (their first listing may still be under way).
  private applied = false;
  private stopped = false;

  constructor(
    private readonly connections: ConnectionRepository,
    private readonly toolDefinitions: ToolDefinitionRepository,
    private readonly pins: ToolPinning,
    private readonly events: ConnectionEvents,
    private readonly metrics: GatewayMetrics,
    private readonly admission: ConnectionAdmission,
    private readonly egress: EgressPolicy,
  ) {
    this.toolChanges.setMaxListeners(0);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    // This process applies its own changes and refreshes before publishing them; only the scheduled
    // refresh-all (which an in-process worker may publish) concerns the publisher too.
    await this.events.subscribe((event, fromSelf) => {
      switch (event.type) {
        case 'changed':
          return fromSelf ? undefined : void this.reload(event.connectionId);
        case 'refresh':
          return fromSelf ? undefined : void this.runtimes.get(event.connectionId)?.refresh();
        case 'refresh-all':
          return this.refreshAll();
      }
    });
    const records = await this.connections.listAllForRuntime();
    await Promise.all(records.map((record) => this.enqueue(record.id, () => this.apply(record.id, record))));
    this.applied = true;
    this.logger.log(`Started ${this.runtimes.size} of ${records.length} connections`);
  }

  /** Listener receives the organization id whose prompts or resources changed, and which. Returns an unsubscribe function. */
  onListingsChanged(listener: (organizationId: string, kind: ListingKind) => void): () => void {
    this.toolChanges.on('listings', listener);
    return () => this.toolChanges.off('listings', listener);
  }

  /** Listener receives a downstream's notifications/resources/updated (its own URI). Returns an unsubscribe function. */
  onResourceUpdated(listener: (runtime: ConnectionRuntime, uri: string) => void): () => void {
    this.toolChanges.on('resource-updated', listener);
    return () => this.toolChanges.off('resource-updated', listener);
  }

  /** Listener receives the organization id whose tool list changed. Returns an unsubscribe function. */
  onToolsChanged(listener: (organizationId: string) => void): () => void {
    this.toolChanges.on('changed', listener);
    return () => this.toolChanges.off('changed', listener);
  }

  /** Brings this process in line with the database for one connection; safe to call repeatedly. */
  reload(connectionId: string): Promise<void> {
    return this.enqueue(connectionId, async () => {
      await this.apply(connectionId, await this.connections.findByIdForRuntime(connectionId));
    });
  }

  refreshAll(): void {
    for (const runtime of this.runtimes.values()) void runtime.refresh();
  }

  /** What /readyz reports: every running connection, all organizations. */
  summary(): {
    organizationId: string;
    name: string;
    state: DownstreamState;
    protocolVersion: string | null;
    tools: number;
    stale: boolean;
  }[] {
    return [...this.runtimes.values()].map((runtime) => ({
      organizationId: runtime.record.organizationId,
      name: runtime.name,
      state: runtime.client.state,
      protocolVersion: runtime.client.snapshot.protocolVersion,
      tools: runtime.list().length,
      stale: runtime.stale,
    }));
  }

  runtime(connectionId: string): ConnectionRuntime | undefined {
    return this.runtimes.get(connectionId);
  }

  /** The organization's running connections, by name. */
  runtimesOf(organizationId: string): ConnectionRuntime[] {
    return [...(this.byOrganization.get(organizationId)?.values() ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One running connection of the organization, by name. */
  runtimeNamed(organizationId: string, name: string): ConnectionRuntime | undefined {
    return this.byOrganization.get(organizationId)?.get(name);
  }

  list(organizationId: string): CatalogTool[] {
    const runtimes = [...(this.byOrganization.get(organizationId)?.values() ?? [])];
    return runtimes.sort((a, b) => a.name.localeCompare(b.name)).flatMap((runtime) => runtime.list());
  }

  /** A running connection's tags (what endpoints select connections by); none for one not running here. */
  tagsOf(organizationId: string, connection: string): readonly string[] {
    return this.byOrganization.get(organizationId)?.get(connection)?.record.tags ?? [];
  }

  /** A held-back tool resolves too (with `heldBack`), so a call to it is refused with the reason, not as unknown. */
  /**
   * Located issues of a value against a JSON Schema (a tool's input schema, a workflow's inputs), compiled once per
   * distinct schema by the same validators as calls. A schema that cannot be compiled is the caller's error.
   */
  argumentIssues(schema: Record<string, unknown>): ArgumentIssues {
    const hash = createHash('sha256').update(canonicalJson(schema)).digest('hex');
    const cached = this.adHocSchemas.get(hash);
    if (cached) {
      // Most recently used last: the oldest is the one dropped.
      this.adHocSchemas.delete(hash);
      this.adHocSchemas.set(hash, cached);
      return cached;
    }
    let issues: ArgumentIssues;
    try {
      issues = this.validators.issuesForSchema(hash, schema);
    } catch (error) {
      throw GatehouseError.invalid(`The JSON Schema cannot be used: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.validators.forget(hash);
    }
    this.adHocSchemas.set(hash, issues);
    if (this.adHocSchemas.size > AD_HOC_SCHEMAS) this.adHocSchemas.delete(this.adHocSchemas.keys().next().value!);
    return issues;
  }

  resolve(organizationId: string, exposedName: string): ResolvedTool | null {
    const connection = connectionOf(exposedName);
    const runtime = connection ? this.byOrganization.get(organizationId)?.get(connection) : undefined;
    if (!runtime) return null;
    const tool = runtime.find(exposedName);
    if (tool) return { runtime, tool };
    const held = runtime.findHeldBack(exposedName);
    return held ? { runtime, tool: held.tool, heldBack: { since: held.since, reason: held.reason } } : null;
  }

  /**
   * Whether a tool that does not resolve may still appear in this process soon: its connections are not all started
   * yet, or the tool's connection is still connecting (a process just started, or a connection reconnecting).
   */
  mayStillList(organizationId: string, exposedName: string): boolean {
    if (!this.applied) return true;
    const connection = connectionOf(exposedName);
    const runtime = connection ? this.byOrganization.get(organizationId)?.get(connection) : undefined;
    return runtime?.client.state === 'connecting';
  }

  // Before the database and Redis close (onApplicationShutdown), so status updates still land.
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.queues.values()]);
    const all = [...this.runtimes.values()];
    this.runtimes.clear();
    this.byOrganization.clear();
    await Promise.allSettled(all.map((runtime) => runtime.close()));
  }

  private enqueue(connectionId: string, task: () => Promise<void>): Promise<void> {
    const next = (this.queues.get(connectionId) ?? Promise.resolve())
      .then(task)
      .catch((error: unknown) => this.logger.error({ err: error, connectionId }, 'Could not apply connection change'));
    this.queues.set(connectionId, next);
    void next.finally(() => {
      if (this.queues.get(connectionId) === next) this.queues.delete(connectionId);
    });
    return next;
  }

  private async apply(connectionId: string, record: ConnectionRecord | null): Promise<void> {
    const current = this.runtimes.get(connectionId);
    const wanted = record && record.enabled && !this.stopped && this.admitted(record) ? record : null;
    if (current && wanted && current.fingerprint === specFingerprint(wanted)) return;
    if (current) {
      this.remove(current);
      await current.close();
      this.notify(current.record.organizationId);
      const { listings } = current;
      if (listings.prompts.length) this.toolChanges.emit('listings', current.record.organizationId, 'prompts');
      if (listings.resources.length || listings.templates.length) this.toolChanges.emit('listings', current.record.organizationId, 'resources');
    }
    if (!wanted) return;
    const runtime = new ConnectionRuntime(wanted, {
      validators: this.validators,
      egress: this.egress,
      toolDefinitions: this.toolDefinitions,
      pins: this.pins,
      onToolsChanged: (changed) => this.notify(changed.record.organizationId),
      onListingsChanged: (changed, kind) => this.toolChanges.emit('listings', changed.record.organizationId, kind),
      onResourceUpdated: (changed, uri) => this.toolChanges.emit('resource-updated', changed, uri),
      onStateChange: (changed, state, error) => this.onStateChange(changed, state, error),
    });
    await runtime.restore();
    this.runtimes.set(connectionId, runtime);
    const organization = this.byOrganization.get(wanted.organizationId) ?? new Map<string, ConnectionRuntime>();
    organization.set(wanted.name, runtime);
    this.byOrganization.set(wanted.organizationId, organization);
    runtime.start();
    if (runtime.list().length) this.notify(wanted.organizationId);
  }

  // Not started: a connection whose sealed credentials do not open (nothing is known of where it goes), and a
  // stdio connection an organization admin made before the operator's list existed, or that the list no longer
  // allows (its command would run on the host).
  private admitted(record: ConnectionRecord): boolean {
    const problem = record.unsealable ?? (record.transport === 'stdio' && !record.configManaged ? this.admission.stdioProblem(record) : null);
    if (!problem) return true;
    this.logger.warn({ connectionId: record.id, organizationId: record.organizationId }, `Connection "${record.name}" not started: ${problem}`);
    this.connections.recordStatus(record.id, 'down', problem).catch((err: unknown) => this.logger.warn({ err }, 'Could not record connection status'));
    return false;
  }

  private remove(runtime: ConnectionRuntime): void {
    this.runtimes.delete(runtime.id);
    const organization = this.byOrganization.get(runtime.record.organizationId);
    if (organization?.get(runtime.name) === runtime) organization.delete(runtime.name);
    this.metrics.connectionUp.remove({ organization: runtime.record.organizationId, connection: runtime.name });
  }

  private notify(organizationId: string): void {
    this.toolChanges.emit('changed', organizationId);
  }

  private onStateChange(runtime: ConnectionRuntime, state: DownstreamState, error: string | null): void {
    const status = STATUS[state];
    if (!status || this.runtimes.get(runtime.id) !== runtime) return;
    this.metrics.connectionUp.set(
      { organization: runtime.record.organizationId, connection: runtime.name },
      state === 'connected' ? 1 : 0,
    );
    this.connections
      .recordStatus(runtime.id, status, error)
      .catch((err: unknown) => this.logger.warn({ err }, 'Could not record connection status'));
  }
}
