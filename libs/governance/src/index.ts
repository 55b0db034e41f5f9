export * from './governance.module';
export * from './policy/policy-engine';
export * from './policy/policy.service';
export * from './policy/tool-access.policy';
