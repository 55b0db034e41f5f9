// Where the bench's processes run while tools/call is measured.
//   shared  every process may use every core, as on one small host: every µs of CPU the gateway spends is
//           taken from the client and the downstream, so the throughput ratio is a ratio of total CPU.
//   split   the cores cut in two halves: the client (this process) and the downstream on the first, the
//           gateway on the second, as when the gateway runs on a host of its own, as it is deployed. The peer
//           (mcp-hub) is a gateway too and gets the same second half: the two are measured in turn, never at
//           once, so each has that half to itself while it is measured. The direct path has the same half in
//           every side's runs, so it is not slowed by the split. A lone call (c=1) through a gateway then
//           crosses cores on every hop, which the direct one never does: its latency is better read in `shared`.
// PostgreSQL and Redis are the machine's own services and are left where the OS puts them: in `split` they
// may take time from either half, which counts against the gateway.
import { execFileSync } from 'node:child_process';
import os from 'node:os';

const range = (from, to) => (from === to ? `${from}` : `${from}-${to}`);

/**
 * The topologies this machine can run (split needs two cores and taskset), the CPU sets to pin to (null when
 * nothing can be pinned), and a reason when split cannot run.
 */
export function availableTopologies(wanted) {
  const cpus = os.cpus().length;
  const half = Math.floor(cpus / 2);
  const sets = { all: range(0, cpus - 1), first: range(0, half - 1), second: range(half, cpus - 1) };
  const problem = cpus < 2 ? 'needs at least 2 CPUs' : process.platform !== 'linux' ? 'needs Linux' : tasksetMissing();
  const topologies = wanted.filter((name) => name === 'shared' || (name === 'split' && !problem));
  return { topologies, sets: problem ? null : sets, skipped: wanted.includes('split') && problem ? `split topology skipped: ${problem}` : null };
}

/**
 * Pins every thread of each process (the client is this process); nothing to do where nothing can be pinned.
 * `gateways` are the processes between the client and the downstream: Gatehouse and the peer.
 */
export function applyTopology(name, sets, { downstream, gateways }) {
  if (!sets) return;
  const near = name === 'split' ? sets.first : sets.all;
  const far = name === 'split' ? sets.second : sets.all;
  pin(process.pid, near);
  pin(downstream.pid, near);
  for (const gateway of gateways) pin(gateway.pid, far);
}

export function describeTopology(name, sets) {
  if (name === 'split') return `client and downstream on CPUs ${sets.first}, gateway (Gatehouse or mcp-hub) on CPUs ${sets.second}`;
  return `every process on ${sets ? `CPUs ${sets.all}` : 'every CPU'}`;
}

function pin(pid, cpus) {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

function tasksetMissing() {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return null;
  } catch {
    return 'taskset (util-linux) is not available';
  }
}
