import type { AuditActor } from '../record/audit-record';

export const CALL_REQUEST_KIND = 'tools.call.request';
export const CALL_OUTCOME_KIND = 'tools.call.outcome';

/** How a tools/call ended, as its outcome record says. */
export type CallAuditOutcome =
  | 'ok'
  | 'tool_error'
  | 'error'
  | 'timeout'
  | 'cancelled'
  | 'denied'
  | 'invalid'
  | 'budget_blocked'
  | 'approval_required'
  | 'unavailable'
  | 'interrupted'
  // Refused at once by a limit of the deployment (platform.limits: rate or calls in flight).
  | 'throttled';

/** The tool a call names: `tool` as exposed, `downstreamTool` as its server names it (null for gatehouse_*). */
export interface CallTarget {
  type: 'tool';
  connection: string;
  tool: string;
  downstreamTool: string | null;
}

export interface CallDecision {
  effect: 'allow' | 'deny' | 'require_approval';
  rule: { id: string | null; name: string };
}

/** A call about to be audited. */
export interface CallAuditStart {
  organizationId: string;
  actor: AuditActor;
  target: CallTarget;
  traceId?: string | null;
  arguments: Record<string, unknown>;
  /** JSON paths redacted besides the organization's (a management tool's secret fields). */
  redactPaths?: readonly string[];
  /** Set when the call is an approved request being run. */
  approvalId?: string;
  /** Set when the call is a workflow run's step (its index from 0). */
  workflow?: { runId: string; step: number };
  /** The endpoint (/mcp/<name>) the call came through; absent for /mcp. */
  endpoint?: string;
}

/** What the outcome record says besides the outcome. */
export interface CallOutcomeFields {
  /** Gatehouse's own sentence when it refused or failed the call. */
  error?: string;
  approvalId?: string;
  /** What the call was charged, in micro-dollars (1 USD = 1,000,000). */
  costMicros?: bigint;
  /** The limit (platform.limits setting) that refused the call, and when the caller was told to retry. */
  limit?: { name: string; retryAfterSeconds: number };
  /** The tool result (kept at level `results`; its size is always recorded). */
  result?: { content?: unknown; structuredContent?: unknown };
}

/** The request record could not be written and the organization fails closed: the call must not be made. */
export interface CallAuditRefusal {
  errorId: string;
  message: string;
}
