export * from './audit.module';
export * from './jobs/audit-jobs.module';
export * from './record/audit-record';
export * from './record/audit-log';
export * from './chain/audit-chainer';
export * from './chain/audit-signer';
export * from './verify/audit-verifier';
