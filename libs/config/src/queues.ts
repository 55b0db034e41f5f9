// Every BullMQ queue and job name in one place (STYLE.md).
export const QUEUES = {
  maintenance: 'maintenance',
  // Consumed by gateway processes only: running an approved call needs the live downstream connections.
  approvals: 'approvals',
  // Signed event deliveries to organizations' webhooks (budget alerts, approvals).
  webhooks: 'webhooks',
  // Chaining (seq, hashes) and signed checkpoints of audit records appended since the last run.
  audit: 'audit',
  // Delivery of chained audit records to each SIEM sink, from the sink's own cursor.
  auditSinks: 'audit-sinks',
  // Consumed by gateway processes only, like approvals: a workflow's steps are calls on the live connections.
  workflows: 'workflows',
} as const;

export const JOBS = {
  refreshCatalogs: 'connections.refresh-catalogs',
  purgeOAuth: 'oauth.purge-expired',
  executeApproval: 'approvals.execute',
  expireApproval: 'approvals.expire',
  deliverWebhook: 'webhooks.deliver',
  chainAudit: 'audit.chain',
  // Removes records past an organization's retention period, after a checkpoint of the chain head.
  pruneAudit: 'audit.prune',
  // Marks tools/call request records left without an outcome by a process that died ("interrupted").
  reconcileAudit: 'audit.reconcile',
  deliverAuditSink: 'audit-sinks.deliver',
  // Enqueues a delivery for every enabled sink with records past its cursor.
  sweepAuditSinks: 'audit-sinks.sweep',
  // Runs a workflow run's next steps (under its lease) until it finishes or waits for an approval.
  advanceWorkflow: 'workflows.advance',
  // Re-enqueues runs whose process died (lease lapsed) or whose approval was decided while nobody listened.
  sweepWorkflows: 'workflows.sweep',
  // A workflow's schedule fired: starts a run as the schedule's key.
  scheduledWorkflow: 'workflows.scheduled',
} as const;
