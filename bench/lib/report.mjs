// Plain-text tables for the terminal.

const fmt = (value, digits = 2) => (value === null || value === undefined || Number.isNaN(Number(value)) ? '—' : Number(value).toFixed(digits));
const pct = (ratio) => (ratio === null || ratio === undefined ? '—' : `${(ratio * 100).toFixed(0)}%`);
const times = (ratio) => (ratio === null || ratio === undefined ? '—' : `${ratio.toFixed(2)}×`);

export function table(headers, rows, align = []) {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => String(row[i]).length)));
  const line = (cells) =>
    cells.map((cell, i) => (align[i] === 'left' ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]))).join(' │ ');
  const rule = widths.map((width) => '─'.repeat(width)).join('─┼─');
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

// The sides of a tools/call comparison, in the order they are printed, with the keys they have in a level.
const SIDES = [
  { key: 'direct', label: 'direct' },
  { key: 'gatehouse', label: 'gatehouse' },
  { key: 'mcpHub', label: 'mcp-hub' },
];
// Milliseconds to about three significant digits (0.84, 36.1, 242): what a reader compares, and it keeps the
// three-way table within 120 columns when latencies reach hundreds of ms at c=64.
const ms = (value) => (value === null || value === undefined ? '—' : fmt(value, Math.abs(value) < 10 ? 2 : Math.abs(value) < 100 ? 1 : 0));
const signedMs = (value) => (value === null || value === undefined ? '—' : `${value >= 0 ? '+' : '-'}${ms(Math.abs(value))}`);
const latencies = (stats) => `${ms(stats.p50)} / ${ms(stats.p95)} / ${ms(stats.p99)}`;

/** Three rows per level (direct, Gatehouse, mcp-hub); the ratios are throughput ratios (×), the added latency is over direct. */
export function callsTable(levels) {
  const rows = levels.flatMap((level) =>
    SIDES.map(({ key, label }, i) => {
      const stats = level[key];
      const added = level.added[key];
      const vsDirect = level.ratio[`${key}VsDirect`]?.throughput;
      return [
        i === 0 ? level.topology : '',
        i === 0 ? level.concurrency : '',
        label,
        fmt(stats.throughput, 0),
        latencies(stats),
        added ? `${signedMs(added.p50)} / ${signedMs(added.p95)} / ${signedMs(added.p99)}` : '',
        vsDirect === undefined ? '' : times(vsDirect),
        key === 'gatehouse' ? times(level.ratio.gatehouseVsMcpHub.throughput) : '',
        stats.errors,
      ];
    }),
  );
  return table(
    ['topology', 'conc', 'side', 'calls/s', 'p50 / p95 / p99 ms', 'added over direct ms', 'vs direct', 'vs mcp-hub', 'errors'],
    rows,
    ['left', 'right', 'left'],
  );
}

/** One row per level: each side's CPU µs per call, by process, and the gateways' share of a core while measured. */
export function cpuTable(levels) {
  const perSide = (cpu, field) => SIDES.map(({ key }) => fmt(cpu[key]?.[field], 0)).join(' / ');
  const rows = levels.map(({ topology, concurrency, cpu }) => [
    topology,
    concurrency,
    perSide(cpu, 'clientUsPerCall'),
    perSide(cpu, 'downstreamUsPerCall'),
    fmt(cpu.gatehouse.gatewayUsPerCall, 0),
    fmt(cpu.mcpHub.peerUsPerCall, 0),
    fmt(cpu.gatehouse.postgresUsPerCall, 0),
    `${pct(cpu.gatehouse.gatewayCoreShare)} / ${pct(cpu.mcpHub.peerCoreShare)}`,
  ]);
  return table(
    ['topology', 'conc', 'client µs d/g/h', 'downstream µs d/g/h', 'gatehouse µs', 'mcp-hub µs', 'postgres µs', 'core use gh/hub'],
    rows,
    ['left'],
  );
}

export function listTable(rows) {
  return table(
    ['tools/list scenario', 'tools', 'samples', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'errors', 'client µs', 'gateway µs'],
    rows.map((row) => [
      row.label,
      row.tools ?? '—',
      row.stats?.count ?? '—',
      fmt(row.stats?.p50),
      fmt(row.stats?.p95),
      fmt(row.stats?.p99),
      fmt(row.stats?.max),
      row.stats?.errors ?? '—',
      fmt(row.cpu?.clientUsPerCall, 0),
      fmt(row.cpu?.gatewayUsPerCall, 0),
    ]),
    ['left'],
  );
}

export { fmt, pct, times };
