// One delivery job per sink: a deterministic id, so the triggers of a burst (chaining runs, the sweep, an
// admin's retry) coalesce into the job already waiting.
export interface DeliverAuditSinkJob {
  organizationId: string;
  sinkId: string;
}

export const deliveryJobId = (sinkId: string): string => `audit-sink-${sinkId}`;

// Catches sinks whose trigger was coalesced into a job that had already read its last batch.
export const SWEEP_EVERY_MS = 3_000;

export interface SinkRetryPolicy {
  // Consecutive failed attempts before a sink is parked in dead_letter (until POST /audit/sinks/:id/retry).
  deadLetterAfter: number;
  /** The wait after the nth consecutive failure. */
  delayMs(failures: number): number;
}

/** 1 s, 2 s, 4 s … capped at 60 s, after the nth consecutive failure. */
export function retryDelayMs(failures: number): number {
  return Math.min(60_000, 1_000 * 2 ** Math.max(0, failures - 1));
}

// Eight attempts: about two minutes of a SIEM refusing or unreachable before an admin has to look.
export const DEFAULT_RETRY_POLICY: SinkRetryPolicy = { deadLetterAfter: 8, delayMs: retryDelayMs };

// A run yields after this long so one sink with a large backlog does not hold a worker slot for ever.
export const RUN_BUDGET_MS = 15_000;
