// The on-demand chaining job after appends: one id, so a burst of appends queues one job (BullMQ ignores an
// add whose id is already waiting). The payload is empty: a run chains every organization with a backlog.
export const CHAIN_NOW_JOB_ID = 'audit-chain-now';
export const CHAIN_EVERY_MS = 2_000;
export type ChainAuditJob = Record<string, never>;
