import { Injectable, Logger } from '@nestjs/common';
import { GatehouseError } from '@gatehouse/config';
import { ConnectionRecord, ConnectionRepository, ToolPinRepository } from '@gatehouse/db';
import { ConnectionEvents } from '../runtime/connection-events';
import { ConnectionRegistry } from '../runtime/connection-registry';
import type { HeldBackTool } from '../runtime/connection-runtime';
import { isNewToolPin } from './tool-pinning';
import { DefinitionChange, diffToolDefinitions } from './tool-definition-diff';

/** A held-back tool as an admin reviews it: what was accepted, what the server sends now, and what differs. */
export interface ToolChangeView {
  /** The exposed name (what tools/list would show, and what the accept endpoint takes). */
  name: string;
  /** new: a name first seen after the connection's first tool list (nothing accepted yet); changed: a new definition. */
  kind: 'new' | 'changed';
  downstreamName: string;
  changedAt: string;
  pinned: { hash: string; definition: Record<string, unknown>; acceptedAt: string; acceptedBy: string | null };
  /** Accept it by presenting this hash. */
  pending: { hash: string; definition: Record<string, unknown> };
  diff: DefinitionChange[];
}

export interface AcceptedToolChange {
  name: string;
  downstreamName: string;
  hash: string;
  acceptedBy: string;
}

function toToolChangeView(held: HeldBackTool): ToolChangeView {
  const pending = held.downstream as Record<string, unknown>;
  return {
    name: held.tool.exposedName,
    kind: isNewToolPin(held.pinned) ? 'new' : 'changed',
    downstreamName: held.tool.downstreamName,
    changedAt: held.since.toISOString(),
    pinned: {
      hash: held.pinned.hash,
      definition: held.pinned.definition,
      acceptedAt: held.pinned.acceptedAt.toISOString(),
      acceptedBy: held.pinned.acceptedBy,
    },
    pending: { hash: held.tool.hash, definition: pending },
    diff: diffToolDefinitions(held.pinned.definition, pending),
  };
}

// Reviewing and accepting changed tool definitions (see ToolPinning). Every method takes the organization id,
// so no caller can reach another tenant's connections.
@Injectable()
export class ToolChangeService {
  private readonly logger = new Logger(ToolChangeService.name);

  constructor(
    private readonly connections: ConnectionRepository,
    private readonly pins: ToolPinRepository,
    private readonly registry: ConnectionRegistry,
    private readonly events: ConnectionEvents,
  ) {}

  /** The tools this connection holds back, as this replica's catalog has them. */
  async list(organizationId: string, connectionId: string): Promise<ToolChangeView[]> {
    const record = await this.require(organizationId, connectionId);
    return (this.registry.runtime(record.id)?.heldBack() ?? []).map(toToolChangeView);
  }

  /** Every tool the organization's connections hold back, with the connection each belongs to. */
  async listAll(organizationId: string): Promise<(ToolChangeView & { connection: { id: string; name: string } })[]> {
    const records = await this.connections.listByOrganization(organizationId);
    return records.flatMap((record) =>
      (this.registry.runtime(record.id)?.heldBack() ?? []).map((held) => ({ ...toToolChangeView(held), connection: { id: record.id, name: record.name } })),
    );
  }

  /**
   * Accepts the pending definition whose hash the admin was shown, and lists the tool again on every replica.
   * A hash that is no longer the pending one (the server changed it again, or someone accepted first) is a
   * conflict: the admin reviews again rather than accept a definition they did not read.
   */
  async accept(
    organizationId: string,
    connectionId: string,
    exposedName: string,
    hash: string,
    acceptedBy: string,
  ): Promise<AcceptedToolChange> {
    const record = await this.require(organizationId, connectionId);
    const runtime = this.registry.runtime(record.id);
    const held = runtime?.findHeldBack(exposedName);
    const review = `review GET /api/v1/connections/${record.id}/tool-changes again`;
    if (!runtime || !held) {
      if (runtime?.find(exposedName)) throw GatehouseError.conflict(`Tool "${exposedName}" has no pending change: ${review}`);
      throw GatehouseError.notFound(`Connection "${record.name}" holds back no tool named "${exposedName}"`);
    }
    if (held.tool.hash !== hash) {
      throw GatehouseError.conflict(`${hash} is not the pending definition of "${exposedName}" (it changed since): ${review}`);
    }
    const accepted = await this.pins.accept(organizationId, record.id, held.tool.downstreamName, {
      pinnedHash: held.pinned.hash,
      accepted: { name: held.tool.downstreamName, hash, definition: held.downstream as Record<string, unknown> },
      acceptedBy,
    });
    if (!accepted) throw GatehouseError.conflict(`The pinned definition of "${exposedName}" changed meanwhile: ${review}`);
    this.logger.log(`Connection "${record.name}": ${acceptedBy} accepted the changed definition of "${held.tool.downstreamName}"`);
    // Here first, so the answer's replica lists the tool already; then every other replica.
    await runtime.refresh();
    await this.events
      .publish({ type: 'refresh', connectionId: record.id })
      .catch((error: unknown) => this.logger.warn({ err: error }, 'Could not publish the accepted tool change'));
    return { name: exposedName, downstreamName: held.tool.downstreamName, hash, acceptedBy };
  }

  private async require(organizationId: string, connectionId: string): Promise<ConnectionRecord> {
    const record = await this.connections.findById(organizationId, connectionId);
    if (!record) throw GatehouseError.notFound(`Connection ${connectionId} not found`);
    return record;
  }
}
