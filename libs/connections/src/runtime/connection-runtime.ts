import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { ConnectionRecord, ConnectionRepository, ToolDefinitionRepository, ToolPinRecord } from '@gatehouse/db';
import { EgressPolicy } from '@gatehouse/egress';
import { ArgumentValidators } from '../catalog/argument-validator';
import { inputSchemaLimitProblem, MAX_TOOLS_PER_CONNECTION } from '../catalog/catalog-limits';
import { canonicalJson } from '../catalog/canonical-json';
import { CatalogTool, exposeDefinition, hashToolDefinition } from '../catalog/catalog-tool';
import { DownstreamClient, DownstreamState } from '../downstream/downstream-client';
import { describeError } from '../downstream/downstream.errors';
import { ConnectionListings, ListingKind } from '../catalog/connection-listings';
import { CoalescedTask } from './coalesced-task';
import { DownstreamSubscriptions } from './downstream-subscriptions';
import { nameTools } from '../naming/tool-naming';
import { heldBackReason, isNewToolPin, ToolPinning } from '../pinning/tool-pinning';

export interface RuntimeDependencies {
  validators: ArgumentValidators;
  egress: EgressPolicy;
  toolDefinitions: ToolDefinitionRepository;
  pins: ToolPinning;
  onToolsChanged: (runtime: ConnectionRuntime) => void;
  onListingsChanged: (runtime: ConnectionRuntime, kind: ListingKind) => void;
  onResourceUpdated: (runtime: ConnectionRuntime, uri: string) => void;
  onStateChange: (runtime: ConnectionRuntime, state: DownstreamState, error: string | null) => void;
}

/** A listed tool whose definition differs from its pin: not listed, and calls are refused, until accepted. */
export interface HeldBackTool {
  /** The changed definition, as it would be exposed. */
  tool: CatalogTool;
  /** The changed definition as the downstream sent it (what an admin accepts). */
  downstream: Tool;
  pinned: ToolPinRecord;
  /** When this definition was first seen. */
  since: Date;
  reason: string;
}

interface LoadedTool {
  tool: CatalogTool;
  downstream: Tool;
}

// Compiling a catalog's schemas can take seconds; other organizations' requests get the event loop this often.
const COMPILE_SLICE_MS = 20;

export function specFingerprint(record: ConnectionRecord): string {
  return createHash('sha256').update(canonicalJson(ConnectionRepository.toSpec(record))).digest('hex');
}

// A connection as this process runs it: the downstream client plus the tool catalog built from it.
// The catalog is only ever read from memory, so tools/list never waits on a downstream; pins are checked when
// it is loaded, so a held-back tool costs nothing per call either.
export class ConnectionRuntime {
  readonly client: DownstreamClient;
  /** The resources the gateway holds a downstream subscription to, counted across upstream sessions. */
  readonly subscriptions: DownstreamSubscriptions;
  readonly fingerprint: string;
  private readonly logger: Logger;
  /** The downstream's last good list, in its order, held-back tools included. */
  private loaded: LoadedTool[] = [];
  private tools: CatalogTool[] = [];
  private byExposedName = new Map<string, CatalogTool>();
  private held = new Map<string, HeldBackTool>();
  /** When each (downstream name, hash) was first seen, so a held-back tool keeps its date across reloads. */
  private firstSeen = new Map<string, Date>();
  private readonly toolRefresh = new CoalescedTask(() => this.fetch());
  /** The downstream's prompts, resources and resource templates. */
  readonly listings: ConnectionListings;
  stale = true;
  listError: string | null = null;
  lastRefreshAt: Date | null = null;
  rejectedTools: string[] = [];
  /** Set when the downstream lists more tools than a connection may serve: said in listError. */
  private truncated: string | null = null;

  constructor(
    readonly record: ConnectionRecord,
    private readonly deps: RuntimeDependencies,
  ) {
    this.fingerprint = specFingerprint(record);
    this.logger = new Logger(`Connection:${record.name}`);
    this.client = new DownstreamClient(
      { ...record, name: record.name, egress: deps.egress },
      {
        onStateChange: (state, error) => {
          this.deps.onStateChange(this, state, error);
          if (state === 'connected') {
            void this.refresh();
            this.subscriptions.resubscribe();
          }
        },
        onToolsChanged: () => void this.toolRefresh.run(),
        onPromptsChanged: () => void this.listings.refresh(),
        onResourcesChanged: () => void this.listings.refresh(),
        onResourceUpdated: (uri) => this.deps.onResourceUpdated(this, uri),
      },
    );
    this.listings = new ConnectionListings(record.name, this.client, (kind) => this.deps.onListingsChanged(this, kind));
    this.subscriptions = new DownstreamSubscriptions(record.name, this.client);
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

  heldBack(): HeldBackTool[] {
    return [...this.held.values()];
  }

  findHeldBack(exposedName: string): HeldBackTool | undefined {
    return this.held.get(exposedName);
  }

  /** Serves the last good list from the database until the downstream answers. */
  async restore(): Promise<void> {
    const stored = await this.deps.toolDefinitions.listForConnection(this.id);
    for (const row of stored) this.firstSeen.set(seenKey(row.name, row.hash), row.updatedAt);
    await this.load(stored.map((row) => row.definition as Tool));
    this.stale = true;
  }

  start(): void {
    this.client.start();
  }

  /** Re-reads the tools (coalesced, see CoalescedTask) and the prompts and resources. */
  refresh(): Promise<void> {
    void this.listings.refresh();
    return this.toolRefresh.run();
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private async fetch(): Promise<void> {
    let listed: Tool[] | null = null;
    try {
      listed = await this.client.listTools();
    } catch (error) {
      this.stale = true;
      this.listError = describeError(error);
      this.logger.warn(`Could not list tools; serving the last good list: ${this.listError}`);
    }
    const before = this.signature();
    try {
      // Without a fresh list the last good one is checked against the pins again: a change accepted while
      // the downstream is down is listed at once.
      await this.load(listed ?? this.loaded.map((entry) => entry.downstream));
    } catch (error) {
      // Fail closed: without the pins, a changed definition cannot be told apart, so nothing new is listed.
      this.stale = true;
      this.listError = `Could not check the tool pins: ${describeError(error)}`;
      this.logger.warn(`${this.listError}; serving the last good list`);
      return;
    }
    if (listed) {
      this.stale = false;
      this.listError = this.truncated;
      this.lastRefreshAt = new Date();
    }
    if (this.signature() === before) return;
    if (listed) {
      await this.deps.toolDefinitions
        .replaceForConnection(
          this.id,
          this.loaded.map(({ tool, downstream }) => ({
            name: tool.downstreamName,
            exposedName: tool.exposedName,
            hash: tool.hash,
            definition: downstream as Record<string, unknown>,
          })),
        )
        .catch((error: unknown) => this.logger.warn({ err: error }, 'Could not store the tool list'));
    }
    this.deps.onToolsChanged(this);
  }

  /** Names and compiles the downstream's tools, then splits them by their pins into listed and held back. */
  private async load(downstreamTools: Tool[]): Promise<void> {
    const { loaded, rejected } = await this.catalog(downstreamTools);
    const pins = await this.deps.pins.review(
      this.record,
      loaded.map(({ tool, downstream }) => ({
        name: tool.downstreamName,
        hash: tool.hash,
        definition: downstream as Record<string, unknown>,
      })),
    );
    const now = new Date();
    const firstSeen = new Map<string, Date>();
    const tools: CatalogTool[] = [];
    const held = new Map<string, HeldBackTool>();
    for (const { tool, downstream } of loaded) {
      const key = seenKey(tool.downstreamName, tool.hash);
      const since = this.firstSeen.get(key) ?? now;
      firstSeen.set(key, since);
      const pinned = pins.get(tool.downstreamName);
      if (!pinned || pinned.hash === tool.hash) {
        tools.push(tool);
        continue;
      }
      const reason = heldBackReason(tool.exposedName, this.id, since, isNewToolPin(pinned));
      held.set(tool.exposedName, { tool, downstream, pinned, since, reason });
      if (this.held.get(tool.exposedName)?.tool.hash !== tool.hash) {
        this.logger.warn(`${reason} Pinned ${pinned.hash.slice(0, 12)}, now ${tool.hash.slice(0, 12)}.`);
      }
    }
    const byExposedName = new Map(tools.map((tool) => [tool.exposedName, tool]));
    for (const name of this.held.keys()) {
      if (byExposedName.has(name)) this.logger.log(`Tool "${name}" is listed again: its changed definition was accepted`);
    }
    this.loaded = loaded;
    this.rejectedTools = rejected;
    this.firstSeen = firstSeen;
    this.tools = tools;
    this.byExposedName = byExposedName;
    this.held = held;
  }

  private async catalog(downstreamTools: Tool[]): Promise<{ loaded: LoadedTool[]; rejected: string[] }> {
    this.truncated =
      downstreamTools.length > MAX_TOOLS_PER_CONNECTION
        ? `The downstream lists more than ${MAX_TOOLS_PER_CONNECTION} tools, the limit per connection: the first ${MAX_TOOLS_PER_CONNECTION} are served and the rest were left out`
        : null;
    if (this.truncated) this.logger.warn(this.truncated);
    const { named, rejected } = nameTools(this.name, downstreamTools.slice(0, MAX_TOOLS_PER_CONNECTION));
    const loaded: LoadedTool[] = [];
    let sliceStart = performance.now();
    for (const { exposedName, tool } of named) {
      if (performance.now() - sliceStart > COMPILE_SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
      const overLimit = inputSchemaLimitProblem(tool.inputSchema);
      if (overLimit) {
        rejected.push(tool.name);
        this.logger.warn(`Tool "${tool.name}" left out: ${overLimit}`);
        continue;
      }
      const hash = hashToolDefinition(tool);
      try {
        loaded.push({
          downstream: tool,
          tool: {
            exposedName,
            downstreamName: tool.name,
            connectionId: this.id,
            connectionName: this.name,
            definition: exposeDefinition(tool, exposedName, this.name),
            hash,
            checkArguments: this.deps.validators.forSchema(hash, tool.inputSchema as Record<string, unknown>),
          },
        });
      } catch (error) {
        rejected.push(tool.name);
        this.logger.warn(`Tool "${tool.name}" left out: its input schema does not compile (${describeError(error)})`);
      }
    }
    if (rejected.length) this.logger.warn(`Tools left out (name collision, invalid schema or over a limit): ${rejected.join(', ')}`);
    return { loaded, rejected };
  }

  // What clients see: a tool held back or released changes it as much as a new definition does.
  private signature(): string {
    const listed = this.tools.map((tool) => `${tool.exposedName}:${tool.hash}`);
    const held = [...this.held.values()].map(({ tool }) => `held ${tool.exposedName}:${tool.hash}`);
    return [...listed, ...held].join('\n');
  }
}

function seenKey(name: string, hash: string): string {
  return `${name}\n${hash}`;
}
