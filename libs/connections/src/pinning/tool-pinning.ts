import { Injectable, Logger } from '@nestjs/common';
import { OrganizationRepository, ToolDefinitionToPin, ToolPinRecord, ToolPinRepository } from '@gatehouse/db';

/** `acceptedBy` of a change an organization's autoAcceptToolChanges accepted. */
export const AUTO_ACCEPTED_BY = 'auto-accept';

/**
 * The pin of a tool whose name appeared after the connection's first tool list: no definition accepted yet. It
 * differs from every real hash, so the tool is held back until an admin accepts it (holdNewTools).
 */
export const UNACCEPTED_HASH = '';

export function isNewToolPin(pin: Pick<ToolPinRecord, 'hash'>): boolean {
  return pin.hash === UNACCEPTED_HASH;
}

export interface PinnedConnection {
  id: string;
  organizationId: string;
  name: string;
}

function byName(pins: ToolPinRecord[]): Map<string, ToolPinRecord> {
  return new Map(pins.map((pin) => [pin.name, pin]));
}

/** The sentence a call to a held-back tool answers with: what happened, and who can do what about it. */
export function heldBackReason(exposedName: string, connectionId: string, since: Date, newTool = false): string {
  const when = `${since.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const what = newTool
    ? `it appeared on ${when}, after the connection's first tool list, and an administrator must review and accept it`
    : `its definition changed on ${when} and an administrator must review and accept the change`;
  return `Tool "${exposedName}" is held back: ${what} (GET /api/v1/connections/${connectionId}/tool-changes).`;
}

// Defence against a trusted server later rewriting what a tool says it does (the MCP "rug pull"): the first
// definition of each downstream tool is pinned, and a definition that differs from its pin is held back
// until an admin accepts it. A tool whose name appears after the connection's first tool list is held too (a
// renamed tool is a new name), unless the organization turned holdNewTools off. Runs when a catalog is loaded,
// never per call.
@Injectable()
export class ToolPinning {
  private readonly logger = new Logger(ToolPinning.name);

  constructor(
    private readonly pins: ToolPinRepository,
    private readonly organizations: OrganizationRepository,
  ) {}

  /**
   * The pin in force for each listed tool (by downstream name), after pinning the tools seen for the first time
   * and, where the organization auto-accepts, accepting changed definitions. A listed tool whose hash differs
   * from its pin's is to be held back.
   */
  async review(connection: PinnedConnection, listed: ToolDefinitionToPin[]): Promise<Map<string, ToolPinRecord>> {
    if (!listed.length) return new Map();
    let pins = byName(await this.pins.listForConnection(connection.id));
    const unpinned = listed.filter((tool) => !pins.has(tool.name));
    // Read only when something is new or changed: a catalog that matches its pins costs one query.
    const review = listed.some((tool) => pins.get(tool.name)?.hash !== tool.hash) ? await this.organizations.toolReview(connection.organizationId) : null;
    if (unpinned.length) {
      // The first list is trusted as the admin's choice of server; names that come later wait for a review.
      const held = pins.size > 0 && review!.holdNewTools;
      await this.pins.pinFirstDefinitions(connection.id, held ? unpinned.map((tool) => ({ name: tool.name, hash: UNACCEPTED_HASH, definition: {} })) : unpinned);
      // Another replica may have pinned some of them first, with what it saw: its pin is the one in force.
      pins = byName(await this.pins.listForConnection(connection.id));
    }
    const changed = listed.filter((tool) => pins.get(tool.name)?.hash !== tool.hash);
    if (!changed.length || !review?.autoAcceptChanges) return pins;
    for (const tool of changed) {
      const pinned = pins.get(tool.name);
      // autoAcceptToolChanges accepts changed definitions, not new tools.
      if (!pinned || isNewToolPin(pinned)) continue;
      const accepted = await this.pins.accept(connection.organizationId, connection.id, tool.name, {
        pinnedHash: pinned.hash,
        accepted: tool,
        acceptedBy: AUTO_ACCEPTED_BY,
      });
      if (accepted) this.logger.log(`Connection "${connection.name}": accepted the changed definition of "${tool.name}" automatically`);
    }
    return byName(await this.pins.listForConnection(connection.id));
  }
}
