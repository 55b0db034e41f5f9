import { isDeepStrictEqual } from 'node:util';
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import {
  ApprovalSettings,
  GatehouseError,
  LinearRegExp,
  MatchBudgetExceeded,
  PolicyEffectName,
  PolicyKindName,
  policyKinds,
  PolicyMatch,
  RoleName,
  ToolClassName,
  ToolClassOverrideSpec,
  UnsupportedPatternError,
  wildcardMatches,
  withMatchBudget,
} from '@gatehouse/config';

/** Who calls, as policies name them. */
export interface PolicySubject {
  role: RoleName;
  userEmail: string | null;
  /** The API key's name (for an OAuth grant, its "MCP — <client>" key). */
  apiKeyName: string;
  /** OAuth clients: their client_id and name. */
  clientId: string | null;
  clientName: string | null;
  /** An OAuth client acting for a person (an assistant), rather than an API key. */
  viaOAuth: boolean;
}

/** What is called, or read. */
export interface PolicyResource {
  /** A tool when absent. */
  kind?: PolicyKindName;
  connection: string;
  /** The exposed name, e.g. linear-prod_create_issue; for a prompt its exposed name, for a resource its exposed URI. */
  tool: string;
  annotations: ToolAnnotations | undefined;
  /** One of Gatehouse's own tools: its annotations are ours, so the default for unknown destructive tools does not apply. */
  builtIn?: boolean;
  /** Changes what the gateway reaches or runs, or decides approvals: denied to OAuth clients unless a rule allows them. */
  sensitive?: boolean;
}

export interface PolicyRule {
  id: string | null;
  name: string;
  description?: string;
  effect: PolicyEffectName;
  match: PolicyMatch;
  approval?: ApprovalSettings;
}

/** Which rule decided: a rule of the policy, the destructive-tool default, or the organization's default. */
export interface DecidingRule {
  id: string | null;
  name: string;
  /** The rule's own words, for the person refused. */
  description?: string;
}

export type Decision =
  | { effect: 'allow' | 'deny'; rule: DecidingRule }
  | { effect: 'require_approval'; rule: DecidingRule; approval: ApprovalSettings };

/** How a tool appears in a principal's tools/list. */
export type Listing = { listed: false; rule: DecidingRule } | { listed: true; approval: ApprovalSettings | null };

export const DESTRUCTIVE_DEFAULT: DecidingRule = { id: null, name: 'default:destructive-requires-approval' };
export const OAUTH_ADMINISTRATION_DEFAULT: DecidingRule = {
  id: null,
  name: 'default:no-oauth-administration',
  description: 'assistants connected with OAuth cannot create connections or decide approval requests unless a policy rule allows it',
};
// Fail closed: a call whose arguments cost more to match than a check may spend is refused, not waved through.
export const PATTERN_BUDGET_DENIAL: DecidingRule = {
  id: null,
  name: 'default:argument-patterns-over-budget',
  description: "the arguments are too large to check against the policy's argument patterns",
};
// An auditor reads the record of what was done; calling tools is not theirs, whatever a rule says.
export const AUDITOR_DEFAULT: DecidingRule = {
  id: null,
  name: 'default:auditors-call-no-tools',
  description: 'auditors read the audit log, usage and approvals; they call no tools',
};
const DESTRUCTIVE_APPROVAL: ApprovalSettings = { approverRoles: ['admin'], approvals: 1, expiresIn: 3600 };

interface CompiledRule extends PolicyRule {
  kinds: ReadonlySet<PolicyKindName>;
  argumentDependent: boolean;
  patterns: Map<string, LinearRegExp>;
}

// An organization's policy, compiled once per version. Deny overrides; then approval; then allow; then the
// secure default for tools marked destructive (approval); then the organization's default.
export class CompiledPolicy {
  private readonly rules: CompiledRule[];
  private readonly overrides: ToolClassOverrideSpec[];

  constructor(
    readonly version: number,
    readonly defaultEffect: 'allow' | 'deny',
    rules: PolicyRule[],
    overrides: ToolClassOverrideSpec[],
  ) {
    this.rules = rules.map((rule) => ({
      ...rule,
      kinds: new Set(policyKinds(rule.match)),
      argumentDependent: (rule.match.arguments?.length ?? 0) > 0,
      patterns: new Map((rule.match.arguments ?? []).flatMap((c) => (c.matches === undefined ? [] : [[c.matches, compilePattern(rule, c.matches)] as const]))),
    }));
    this.overrides = overrides;
  }

  decide(subject: PolicySubject, resource: PolicyResource, args: Record<string, unknown>): Decision {
    if (subject.role === 'auditor') return { effect: 'deny', rule: AUDITOR_DEFAULT };
    const classes = this.classify(resource);
    try {
      const matching = withMatchBudget(() => this.rules.filter((rule) => this.matches(rule, subject, resource, classes) && argumentsMatch(rule, args)));
      return this.resolve(matching, classes, subject, resource);
    } catch (error) {
      if (error instanceof MatchBudgetExceeded) return { effect: 'deny', rule: PATTERN_BUDGET_DENIAL };
      throw error;
    }
  }

  /** tools/list has no arguments: a tool is hidden only when no call to it could ever be allowed. */
  listing(subject: PolicySubject, resource: PolicyResource): Listing {
    if (subject.role === 'auditor') return { listed: false, rule: AUDITOR_DEFAULT };
    const classes = this.classify(resource);
    const matching = this.rules.filter((rule) => this.matches(rule, subject, resource, classes));
    const unconditional = this.resolve(matching.filter((rule) => !rule.argumentDependent), classes, subject, resource);
    const mayBeAllowedByArguments = matching.some((rule) => rule.argumentDependent && rule.effect !== 'deny');
    if (unconditional.effect === 'deny' && !(mayBeAllowedByArguments && unconditional.rule.name === 'default')) {
      return { listed: false, rule: unconditional.rule };
    }
    if (unconditional.effect === 'require_approval') return { listed: true, approval: unconditional.approval };
    return { listed: true, approval: null };
  }

  classify(resource: PolicyResource): Set<ToolClassName> {
    // Prompts and resources are read; the overrides classify tools.
    if ((resource.kind ?? 'tool') !== 'tool') return new Set(['read']);
    const override = this.overrides.find((candidate) => wildcardMatches(candidate.tools, resource.tool));
    if (override) {
      if (override.class === 'read') return new Set(['read']);
      return new Set(override.class === 'write' ? ['write'] : ['write', override.class]);
    }
    const annotations = resource.annotations ?? {};
    if (annotations.readOnlyHint === true) return new Set(annotations.openWorldHint === true ? ['read', 'open_world'] : ['read']);
    const classes = new Set<ToolClassName>(['write']);
    if (annotations.destructiveHint === true) classes.add('destructive');
    if (annotations.openWorldHint === true) classes.add('open_world');
    return classes;
  }

  private resolve(matching: CompiledRule[], classes: Set<ToolClassName>, subject: PolicySubject, resource: PolicyResource): Decision {
    const deny = matching.find((rule) => rule.effect === 'deny');
    if (deny) return { effect: 'deny', rule: ruleOf(deny) };
    const approval = matching.find((rule) => rule.effect === 'require_approval');
    if (approval) return { effect: 'require_approval', rule: ruleOf(approval), approval: approval.approval ?? DESTRUCTIVE_APPROVAL };
    const allow = matching.find((rule) => rule.effect === 'allow');
    if (allow) return { effect: 'allow', rule: ruleOf(allow) };
    if (resource.sensitive && subject.viaOAuth) return { effect: 'deny', rule: OAUTH_ADMINISTRATION_DEFAULT };
    if (classes.has('destructive') && !resource.builtIn) return { effect: 'require_approval', rule: DESTRUCTIVE_DEFAULT, approval: DESTRUCTIVE_APPROVAL };
    return { effect: this.defaultEffect, rule: { id: null, name: 'default' } };
  }

  private matches(rule: CompiledRule, subject: PolicySubject, resource: PolicyResource, classes: Set<ToolClassName>): boolean {
    const { match } = rule;
    const kind = resource.kind ?? 'tool';
    if (!rule.kinds.has(kind)) return false;
    if (match.roles && !match.roles.includes(subject.role)) return false;
    if (match.users && !(subject.userEmail && match.users.includes(subject.userEmail))) return false;
    if (match.apiKeys && !match.apiKeys.includes(subject.apiKeyName)) return false;
    if (match.clients && !match.clients.some((client) => client === subject.clientId || client === subject.clientName)) return false;
    if (match.connections && !match.connections.includes(resource.connection)) return false;
    const names = kind === 'tool' ? match.tools : kind === 'prompt' ? match.prompts : match.resources;
    if (names && !names.some((glob) => wildcardMatches(glob, resource.tool))) return false;
    if (match.toolClass && !match.toolClass.some((toolClass) => classes.has(toolClass))) return false;
    return true;
  }
}

// Rules are validated when saved; one stored before patterns ran on RE2 may not compile. The policy then cannot be
// applied at all (fail closed), with the reason for the admin who must replace the rule.
function compilePattern(rule: PolicyRule, pattern: string): LinearRegExp {
  try {
    return LinearRegExp.compile(pattern);
  } catch (error) {
    if (!(error instanceof UnsupportedPatternError)) throw error;
    throw GatehouseError.conflict(`Policy rule "${rule.name}" has a pattern RE2 cannot run (${error.message}); an admin must replace the rule`);
  }
}

function ruleOf(rule: CompiledRule): DecidingRule {
  return { id: rule.id, name: rule.name, ...(rule.description ? { description: rule.description } : {}) };
}

function argumentsMatch(rule: CompiledRule, args: Record<string, unknown>): boolean {
  return (rule.match.arguments ?? []).every((condition) => {
    const value = condition.path.split('.').reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), args);
    if (condition.equals !== undefined) return isDeepStrictEqual(value, condition.equals);
    if (condition.in !== undefined) return condition.in.some((candidate) => isDeepStrictEqual(value, candidate));
    return typeof value === 'string' && rule.patterns.get(condition.matches!)!.test(value);
  });
}
