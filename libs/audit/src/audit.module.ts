import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { QUEUES } from '@gatehouse/config';
import { BullRootModule } from '@gatehouse/db';
import { AuditChainer } from './chain/audit-chainer';
import { AuditSigner } from './chain/audit-signer';
import { AuditLog } from './record/audit-log';
import { AuditSettingsService } from './settings/audit-settings.service';
import { AuditVerifier } from './verify/audit-verifier';

const PROVIDERS = [AuditLog, AuditChainer, AuditSigner, AuditVerifier, AuditSettingsService];

// Appending, chaining and verification; used by the gateway and (for the chainer) by the jobs module.
@Global()
@Module({
  imports: [BullRootModule, BullModule.registerQueue({ name: QUEUES.audit })],
  providers: PROVIDERS,
  exports: PROVIDERS,
})
export class AuditModule {}
