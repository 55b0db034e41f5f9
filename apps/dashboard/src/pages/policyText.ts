import type { Policy, PolicyRevision } from '../api/client';

type Rule = Policy['rules'][number] | PolicyRevision['rules']['rules'][number];

// One key order for every rule, so that two versions differ only where their rules do.
const ruleOf = ({ name, description, effect, match, approval }: Rule) => ({ name, description, effect, match, approval });

/** What an admin edits and what revisions are compared as: the policy without ids, in one key order, as JSON. */
export function policyText(policy: { defaultEffect: string; rules: Rule[]; toolClasses: { tools: string; class: string }[] }): string {
  return JSON.stringify({ defaultEffect: policy.defaultEffect, rules: policy.rules.map(ruleOf), toolClasses: policy.toolClasses }, null, 2);
}

export function revisionText(revision: PolicyRevision): string {
  return policyText({ defaultEffect: revision.defaultEffect, ...revision.rules });
}

/** The config file's entry for the organization's policy, to change there (JSON is YAML too). */
export function policyYaml(org: string, policy: Policy): string {
  const indent = (text: string) => text.split('\n').join('\n    ');
  return [
    'organizations:',
    `  - slug: ${JSON.stringify(org)}`,
    `    defaultEffect: ${policy.defaultEffect}`,
    `    policies: ${indent(JSON.stringify(policy.rules.map(ruleOf), null, 2))}`,
    `    toolClasses: ${indent(JSON.stringify(policy.toolClasses, null, 2))}`,
  ].join('\n');
}
