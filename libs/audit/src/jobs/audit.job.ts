// The on-demand chaining job after appends: one id, so a burst of appends queues one job (BullMQ ignores an
// add whose id is already waiting). The payload is empty: a run chains every organization with a backlog.
export const CHAIN_NOW_JOB_ID = 'audit-chain-now';
export const CHAIN_EVERY_MS = 2_000;
export type ChainAuditJob = Record<string, never>;
// Retention: hourly is plenty for periods counted in days.
export const PRUNE_EVERY_MS = 3_600_000;
// Interrupted tools/calls: a killed process's calls get their outcome within a heartbeat TTL plus this.
export const RECONCILE_EVERY_MS = 5_000;
