import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { ConnectionRecord, ConnectionRepository, ToolDefinitionRepository } from '@gatehouse/db';
import { ArgumentValidators } from '../catalog/argument-validator';
import { canonicalJson } from '../catalog/canonical-json';
import { CatalogTool, exposeDefinition, hashToolDefinition } from '../catalog/catalog-tool';
import { DownstreamClient, DownstreamState } from '../downstream/downstream-client';
import { describeError } from '../downstream/downstream.errors';
import { nameTools } from '../naming/tool-naming';

export interface RuntimeDependencies {
  validators: ArgumentValidators;
  toolDefinitions: ToolDefinitionRepository;
  onToolsChanged: (runtime: ConnectionRuntime) => void;
  onStateChange: (runtime: ConnectionRuntime, state: DownstreamState, error: string | null) => void;
}

export function specFingerprint(record: ConnectionRecord): string {
  return createHash('sha256').update(canonicalJson(ConnectionRepository.toSpec(record))).digest('hex');
}

// A connection as this process runs it: the downstream client plus the tool catalog built from it.
// The catalog is only ever read from memory, so tools/list never waits on a downstream.
export class ConnectionRuntime {
  readonly client: DownstreamClient;
  readonly fingerprint: string;
  private readonly logger: Logger;
  private tools: CatalogTool[] = [];
  private byExposedName = new Map<string, CatalogTool>();
  private refreshing: Promise<void> | null = null;
  private refreshQueued = false;
  stale = true;
  listError: string | null = null;
  lastRefreshAt: Date | null = null;
  rejectedTools: string[] = [];

  constructor(
    readonly record: ConnectionRecord,
    private readonly deps: RuntimeDependencies,
  ) {
    this.fingerprint = specFingerprint(record);
    this.logger = new Logger(`Connection:${record.name}`);
    this.client = new DownstreamClient(
      { ...record, name: record.name },
      {
        onStateChange: (state, error) => {
          this.deps.onStateChange(this, state, error);
          if (state === 'connected') void this.refresh();
        },
        onToolsChanged: () => void this.refresh(),
      },
    );
  }

  get id(): string {
    return this.record.id;
  }

  get name(): string {
    return this.record.name;
  }

  list(): readonly CatalogTool[] {
    return this.tools;
  }

  find(exposedName: string): CatalogTool | undefined {
    return this.byExposedName.get(exposedName);
  }

  /** Serves the last good list from the database until the downstream answers. */
  async restore(): Promise<void> {
    const stored = await this.deps.toolDefinitions.listForConnection(this.id);
    this.install(stored.map((row) => row.definition as Tool));
    this.stale = true;
  }

  start(): void {
    this.client.start();
  }

  /** Coalesces: while a refresh runs, further requests collapse into one more refresh after it. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshQueued = true;
      return this.refreshing;
    }
    this.refreshing = this.fetch().finally(() => {
      this.refreshing = null;
      if (this.refreshQueued) {
        this.refreshQueued = false;
        void this.refresh();
      }
    });
    return this.refreshing;
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private async fetch(): Promise<void> {
    let downstreamTools: Tool[];
    try {
      downstreamTools = await this.client.listTools();
    } catch (error) {
      this.stale = true;
      this.listError = describeError(error);
      this.logger.warn(`Could not list tools; serving the last good list: ${this.listError}`);
      return;
    }
    const before = this.signature();
    this.install(downstreamTools);
    this.stale = false;
    this.listError = null;
    this.lastRefreshAt = new Date();
    if (this.signature() === before) return;
    await this.deps.toolDefinitions
      .replaceForConnection(
        this.id,
        this.tools.map((tool) => ({
          name: tool.downstreamName,
          exposedName: tool.exposedName,
          hash: tool.hash,
          definition: downstreamTools.find((t) => t.name === tool.downstreamName)! as Record<string, unknown>,
        })),
      )
      .catch((error: unknown) => this.logger.warn({ err: error }, 'Could not store the tool list'));
    this.deps.onToolsChanged(this);
  }

  private install(downstreamTools: Tool[]): void {
    const { named, rejected } = nameTools(this.name, downstreamTools);
    const tools: CatalogTool[] = [];
    for (const { exposedName, tool } of named) {
      const hash = hashToolDefinition(tool);
      try {
        tools.push({
          exposedName,
          downstreamName: tool.name,
          connectionId: this.id,
          connectionName: this.name,
          definition: exposeDefinition(tool, exposedName, this.name),
          hash,
          readOnly: tool.annotations?.readOnlyHint === true,
          checkArguments: this.deps.validators.forSchema(hash, tool.inputSchema as Record<string, unknown>),
        });
      } catch (error) {
        rejected.push(tool.name);
        this.logger.warn(`Tool "${tool.name}" left out: its input schema does not compile (${describeError(error)})`);
      }
    }
    if (rejected.length) this.logger.warn(`Tools left out (name collision or invalid schema): ${rejected.join(', ')}`);
    this.rejectedTools = rejected;
    this.tools = tools;
    this.byExposedName = new Map(tools.map((tool) => [tool.exposedName, tool]));
  }

  private signature(): string {
    return this.tools.map((tool) => `${tool.exposedName}:${tool.hash}`).join('\n');
  }
}
