import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { QUEUES } from '@gatehouse/config';
import { BullRootModule } from '@gatehouse/db';
import { AuditChainer } from './chain/audit-chainer';
import { AuditInstance } from './calls/audit-instance';
import { CallAuditWriter } from './calls/call-audit-writer';
import { CallAuditor } from './calls/call-auditor';
import { CallReconciler } from './calls/call-reconciler';
import { AuditRedactor } from './redaction/audit-redactor';
import { AuditSigner } from './chain/audit-signer';
import { AuditQueryService } from './query/audit-query.service';
import { CallActivityService } from './query/call-activity.service';
import { AuditLog } from './record/audit-log';
import { AuditRecorder } from './record/audit-recorder';
import { AuditSettingsService } from './settings/audit-settings.service';
import { AuditPruner } from './retention/audit-pruner';
import { AuditVerifier } from './verify/audit-verifier';

const PROVIDERS = [AuditLog, AuditRecorder, AuditChainer, AuditSigner, AuditVerifier, AuditSettingsService, AuditPruner, AuditQueryService, CallActivityService, AuditInstance, AuditRedactor, CallAuditWriter, CallAuditor, CallReconciler];

// Appending, chaining and verification; used by the gateway and (for the chainer) by the jobs module.
@Global()
@Module({
  imports: [BullRootModule, BullModule.registerQueue({ name: QUEUES.audit })],
  providers: PROVIDERS,
  exports: PROVIDERS,
})
export class AuditModule {}
