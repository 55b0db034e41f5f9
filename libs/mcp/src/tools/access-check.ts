import type { Decision, DecidingRule } from '@gatehouse/governance';

/** The policy's decision, a denial carrying the sentence that tells the person refused why. */
export type AccessOutcome =
  | { effect: 'deny'; rule: DecidingRule; why: string }
  | { effect: 'allow'; rule: DecidingRule }
  | Extract<Decision, { effect: 'require_approval' }>;
