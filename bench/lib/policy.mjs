// Policy evaluation cost: CompiledPolicy.decide() of the production build, with a realistic rule set, timed over
// many evaluations in this process (no I/O is involved: the policy is compiled once per version and cached).
import { createRequire } from 'node:module';
import { join } from 'node:path';

const RULES = 50;

export function benchPolicyEvaluation(root, iterations = 200_000) {
  const require = createRequire(import.meta.url);
  const { CompiledPolicy } = require(join(root, 'dist/libs/governance/src/policy/policy-engine.js'));
  const { policyRuleSchema } = require(join(root, 'dist/libs/config/src/schemas/policy.schema.js'));
  // A mix like a real organization's: role rules, tool globs, class rules and argument conditions; none of them
  // matches the call measured until the last, so every rule is checked.
  const rules = Array.from({ length: RULES }, (_, i) => {
    const kind = i % 5;
    const spec =
      kind === 0 ? { name: `r${i}`, match: { roles: ['contractor'], toolClass: ['write', 'destructive'] }, effect: 'deny' }
      : kind === 1 ? { name: `r${i}`, match: { tools: [`svc${i}_create_*`] }, effect: 'require_approval' }
      : kind === 2 ? { name: `r${i}`, match: { connections: [`svc${i}`] }, effect: 'allow' }
      : kind === 3 ? { name: `r${i}`, match: { tools: ['*_delete_*'], arguments: [{ path: 'target.env', equals: 'prod' }] }, effect: 'deny' }
      : { name: `r${i}`, match: { users: [`person${i}@acme.test`], arguments: [{ path: 'team', matches: '^fin' }] }, effect: 'deny' };
    return { id: `id-${i}`, ...policyRuleSchema.parse(spec) };
  });
  const policy = new CompiledPolicy(1, 'allow', rules, [{ tools: 'search_*', class: 'read' }]);
  const subject = { role: 'member', userEmail: 'bob@acme.test', apiKeyName: 'agent', clientId: null, clientName: null };
  const resource = { connection: 'linear-prod', tool: 'linear-prod_update_issue', annotations: { readOnlyHint: false } };
  const args = { id: 'ISS-1', team: 'platform', target: { env: 'staging' } };
  const time = (count) => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < count; i++) policy.decide(subject, resource, args);
    return Number(process.hrtime.bigint() - started) / count;
  };
  time(20_000); // warm-up: let the JIT compile it
  const samples = [time(iterations / 4), time(iterations / 4), time(iterations / 4), time(iterations / 4)].sort((a, b) => a - b);
  return { rules: RULES, decision: policy.decide(subject, resource, args), nsPerEvaluation: Math.round((samples[1] + samples[2]) / 2), iterations };
}
