import type { CostRow } from '@gatehouse/db';

// The price of one call: the tool's own price, else its connection's, else nothing.
export class CostTable {
  private readonly connections = new Map<string, { all?: bigint; tools: Map<string, bigint> }>();

  constructor(costs: readonly CostRow[]) {
    for (const cost of costs) {
      let entry = this.connections.get(cost.connection);
      if (!entry) this.connections.set(cost.connection, (entry = { tools: new Map() }));
      if (cost.tool === null) entry.all = cost.perCallMicros;
      else entry.tools.set(cost.tool, cost.perCallMicros);
    }
  }

  /** `tool` is the downstream tool's name, as the server names it. */
  costOf(connection: string, tool: string): bigint {
    const entry = this.connections.get(connection);
    return entry?.tools.get(tool) ?? entry?.all ?? 0n;
  }
}
