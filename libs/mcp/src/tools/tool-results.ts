import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { CallAudit, CallAuditOutcome } from '@gatehouse/audit';

/** A tool result the assistant can relay to a person: refusals and failures are results, not protocol errors. */
export function errorResult(message: string, structured?: Record<string, unknown>): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: message }],
    ...(structured ? { structuredContent: structured } : {}),
  };
}

export function jsonResult(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }], structuredContent: value };
}

/** The text of a result: Gatehouse's own sentence, for an error result it made. */
export function textOf(result: CallToolResult): string {
  return result.content.map((item) => (item.type === 'text' ? item.text : '')).join('\n');
}

/** A call refused before forwarding: both its records are committed before the refusal is returned. */
export async function refused(audit: CallAudit, outcome: CallAuditOutcome, result: CallToolResult, approvalId?: string): Promise<CallToolResult> {
  await audit.refuse(outcome, { error: textOf(result), ...(approvalId ? { approvalId } : {}) });
  return result;
}
