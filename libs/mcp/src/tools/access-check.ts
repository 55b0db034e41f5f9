import type { ResolvedTool } from '@gatehouse/connections';
import type { Decision, DecidingRule } from '@gatehouse/governance';
import type { Principal } from '@gatehouse/identity';

/** The policy's decision, a denial carrying the sentence that tells the person refused why. */
export type AccessOutcome =
  | { effect: 'deny'; rule: DecidingRule; why: string }
  | { effect: 'allow'; rule: DecidingRule }
  | Extract<Decision, { effect: 'require_approval' }>;

/** Read-only credentials call only read-only tools: checked before the arguments are. Null when that is not the refusal. */
export function readOnlyDenial(principal: Principal, resolved: ResolvedTool, name: string): AccessOutcome | null {
  if (principal.access !== 'read_only' || resolved.tool.readOnly) return null;
  return {
    effect: 'deny',
    rule: { id: null, name: 'read-only-key' },
    why: `this API key is read-only, and "${name}" is not marked read-only (readOnlyHint) by its server`,
  };
}
