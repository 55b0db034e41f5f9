import { Injectable, OnModuleInit } from '@nestjs/common';
import { z } from 'zod';
import { AuditActor, AuditRecorder } from '@gatehouse/audit';
import { GatehouseError, PolicyRuleSpec, policyRuleSchema, toolClassOverrideSchema } from '@gatehouse/config';
import { ClusterBus, PolicyRepository, StoredPolicy } from '@gatehouse/db';
import { auditActorOf, Principal } from '@gatehouse/identity';
import { CompiledPolicy } from './policy-engine';

const CHANNEL = 'policies';
// Changes reach every replica through the cluster bus at once; this only bounds a lost message.
const TTL_MS = 60_000;

export const policyInputSchema = z
  .object({
    defaultEffect: z.enum(['allow', 'deny']).default('allow'),
    rules: z.array(policyRuleSchema).max(500).default([]),
    toolClasses: z.array(toolClassOverrideSchema).max(500).default([]),
  })
  .strict()
  .superRefine((policy, ctx) => {
    const seen = new Set<string>();
    policy.rules.forEach((rule, index) => {
      if (seen.has(rule.name)) ctx.addIssue({ code: 'custom', path: ['rules', index, 'name'], message: `duplicate rule name "${rule.name}"` });
      seen.add(rule.name);
    });
  });

export type PolicyInput = z.infer<typeof policyInputSchema>;

/** A draft that would save: the schema accepted it (else the request was refused with each problem's path) and it compiles. */
export interface PolicyValidation {
  valid: true;
  rules: number;
  toolClasses: number;
}

/** Where a policy change came from, as its policy.changed record says. */
export type PolicyChannel = 'admin_api' | 'management_tool' | 'config_file';

/** The config file changes policies as Gatehouse itself. */
interface Entry {
  policy: Promise<CompiledPolicy>;
  loadedAt: number;
}

// Each organization's policy, compiled once per version and shared by every call; a change made anywhere is
// in force for the next call on every replica.
@Injectable()
export class PolicyService implements OnModuleInit {
  private readonly compiled = new Map<string, Entry>();

  constructor(
    private readonly repository: PolicyRepository,
    private readonly bus: ClusterBus,
    private readonly recorder: AuditRecorder,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.bus.subscribe(CHANNEL, (event) => this.compiled.delete((event as { organizationId: string }).organizationId));
  }

  policyFor(organizationId: string): Promise<CompiledPolicy> {
    const entry = this.compiled.get(organizationId);
    if (entry && Date.now() - entry.loadedAt < TTL_MS) return entry.policy;
    const policy = this.repository.load(organizationId).then((stored) => new CompiledPolicy(stored.version, stored.defaultEffect, stored.rules, stored.toolClasses));
    policy.catch(() => this.compiled.delete(organizationId));
    this.compiled.set(organizationId, { policy, loadedAt: Date.now() });
    return policy;
  }

  /**
   * A policy as it would be compiled if saved, stored nowhere: what the editor validates and previews. Its rules
   * have no ids yet and it has no version (0).
   */
  draft(input: PolicyInput): CompiledPolicy {
    return new CompiledPolicy(0, input.defaultEffect, input.rules.map((rule) => ({ ...rule, id: null })), input.toolClasses);
  }

  validate(input: PolicyInput): PolicyValidation {
    this.draft(input);
    return { valid: true, rules: input.rules.length, toolClasses: input.toolClasses.length };
  }

  get(organizationId: string): Promise<StoredPolicy> {
    return this.repository.load(organizationId);
  }

  /** Replaces the organization's policy (admin API, management tools); refused when the config file owns it. */
  async replace(principal: Principal, input: PolicyInput, via: PolicyChannel): Promise<StoredPolicy> {
    const { organizationId } = principal;
    const current = await this.repository.load(organizationId);
    if (current.configManaged) throw GatehouseError.conflict('This organization\'s policy is managed by the config file; change it there');
    await this.repository.replace(organizationId, { ...input, configManaged: false, changedBy: principal.subject });
    await this.changed(organizationId);
    const policy = await this.repository.load(organizationId);
    await this.recordChange(organizationId, policy, auditActorOf(principal), via, { change: 'replaced' });
    return policy;
  }

  /** Adds one rule (management tool); the policy's other rules stay as they are. */
  async addRule(principal: Principal, rule: PolicyRuleSpec, position: number | undefined, via: PolicyChannel): Promise<StoredPolicy> {
    const { organizationId } = principal;
    const outcome = await this.repository.insertRule(organizationId, rule, position, principal.subject);
    if (outcome === 'config_managed') throw GatehouseError.conflict('This organization\'s policy is managed by the config file; change it there');
    if (outcome === 'duplicate') throw GatehouseError.conflict(`A rule named "${rule.name}" already exists; choose another name`);
    await this.changed(organizationId);
    const policy = await this.repository.load(organizationId);
    await this.recordChange(organizationId, policy, auditActorOf(principal), via, { change: 'rule_added', rule: rule.name, effect: rule.effect });
    return policy;
  }

  /** policy.changed, with the version now in force; the change is committed, so a lost record is only logged. */
  async recordChange(organizationId: string, policy: StoredPolicy, actor: AuditActor, via: PolicyChannel, data: Record<string, unknown> = {}): Promise<void> {
    await this.recorder.record({
      organizationId,
      kind: 'policy.changed',
      actor,
      target: { type: 'policy', version: policy.version },
      outcome: 'success',
      data: { via, version: policy.version, defaultEffect: policy.defaultEffect, rules: policy.rules.length, toolClasses: policy.toolClasses.length, configManaged: policy.configManaged, ...data },
    });
  }

  revisions(organizationId: string) {
    return this.repository.revisions(organizationId);
  }

  /** A policy changed (here or by the config file): every replica recompiles it before its next call. */
  async changed(organizationId: string): Promise<void> {
    this.compiled.delete(organizationId);
    await this.bus.publish(CHANNEL, { organizationId });
  }
}
