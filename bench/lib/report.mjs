// Plain-text tables for the terminal.

const fmt = (value, digits = 2) => (value === null || value === undefined || Number.isNaN(Number(value)) ? '—' : Number(value).toFixed(digits));
const signed = (value, digits = 2) => (value === null || value === undefined ? '—' : `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`);
const pct = (ratio) => (ratio === null || ratio === undefined ? '—' : `${(ratio * 100).toFixed(0)}%`);

export function table(headers, rows, align = []) {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => String(row[i]).length)));
  const line = (cells) =>
    cells.map((cell, i) => (align[i] === 'left' ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]))).join(' │ ');
  const rule = widths.map((width) => '─'.repeat(width)).join('─┼─');
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

export function callsTable(levels) {
  const rows = levels.map(({ topology, concurrency, direct, gatehouse, ratio, added }) => [
    topology,
    concurrency,
    fmt(direct.throughput, 0),
    fmt(gatehouse.throughput, 0),
    pct(ratio.throughput),
    `${fmt(direct.p50)} / ${fmt(direct.p95)} / ${fmt(direct.p99)}`,
    `${fmt(gatehouse.p50)} / ${fmt(gatehouse.p95)} / ${fmt(gatehouse.p99)}`,
    `${signed(added.p50)} / ${signed(added.p95)} / ${signed(added.p99)}`,
    `${fmt(ratio.p50)}×`,
    `${direct.errors}/${gatehouse.errors}`,
  ]);
  return table(
    ['topology', 'conc', 'direct calls/s', 'gatehouse calls/s', 'thru ratio', 'direct p50/p95/p99 ms', 'gatehouse p50/p95/p99 ms', 'added p50/p95/p99 ms', 'p50 ratio', 'errors d/g'],
    rows,
    ['left'],
  );
}

export function cpuTable(levels) {
  const rows = levels.map(({ topology, concurrency, cpu }) => [
    topology,
    concurrency,
    fmt(cpu.direct.clientUsPerCall, 0),
    fmt(cpu.direct.downstreamUsPerCall, 0),
    fmt(cpu.gatehouse.clientUsPerCall, 0),
    fmt(cpu.gatehouse.gatewayUsPerCall, 0),
    fmt(cpu.gatehouse.downstreamUsPerCall, 0),
    fmt(cpu.gatehouse.postgresUsPerCall, 0),
    `${pct(cpu.direct.downstreamCoreShare)} / ${pct(cpu.direct.clientCoreShare)}`,
    `${pct(cpu.gatehouse.gatewayCoreShare)} / ${pct(cpu.gatehouse.downstreamCoreShare)} / ${pct(cpu.gatehouse.clientCoreShare)}`,
  ]);
  return table(
    ['topology', 'conc', 'direct: client µs', 'direct: downstream µs', 'gh: client µs', 'gh: gateway µs', 'gh: downstream µs', 'gh: postgres µs', 'direct core use ds/client', 'gh core use gw/ds/client'],
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

export { fmt, pct, signed };
