export * from './address-ranges';
export * from './egress-agents';
export * from './egress-fetch';
export * from './egress-policy';
export * from './egress-refusal';
export * from './egress.module';
