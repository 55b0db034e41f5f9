// Latency statistics: percentiles by sorting (nearest rank), throughput from completed calls / wall time.

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted, p) {
  if (!sorted.length) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/**
 * @param {number[]} latencies milliseconds of the calls that succeeded
 * @param {{ elapsedMs: number, errors: number }} run
 */
export function summarize(latencies, { elapsedMs, errors = 0 }) {
  const sorted = Float64Array.from(latencies).sort();
  const count = sorted.length;
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    count,
    errors,
    elapsedMs: round(elapsedMs),
    throughput: round(elapsedMs > 0 ? (count / elapsedMs) * 1000 : 0, 1),
    mean: round(count ? sum / count : null),
    min: round(count ? sorted[0] : null),
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(count ? sorted[count - 1] : null),
  };
}

export function round(value, digits = 3) {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Runs `concurrency` workers against `op` until the deadline; each worker finishes its last call. */
export async function runLoad({ concurrency, durationMs, clients, op }) {
  const latencies = [];
  let errors = 0;
  let firstError = null;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      const client = clients[worker % clients.length];
      let iteration = 0;
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await op(client, worker, iteration++);
          latencies.push(performance.now() - t0);
        } catch (error) {
          errors++;
          firstError ??= error;
          // Do not spin on a failing target.
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
    }),
  );
  return { latencies, errors, firstError, elapsedMs: performance.now() - started };
}

/** Concatenates several runs (rounds) of the same measurement. */
export function mergeRuns(runs) {
  return {
    latencies: runs.flatMap((run) => run.latencies),
    errors: runs.reduce((total, run) => total + run.errors, 0),
    firstError: runs.find((run) => run.firstError)?.firstError ?? null,
    elapsedMs: runs.reduce((total, run) => total + run.elapsedMs, 0),
  };
}
