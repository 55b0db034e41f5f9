import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { QUEUES } from '@gatehouse/config';
import { BullRootModule } from '@gatehouse/db';
import { AuditModule } from '../audit.module';
import { AuditSinksModule } from '../sinks/audit-sinks.module';
import { AuditProcessor } from './audit.processor';
import { AuditScheduler } from './audit.scheduler';

// The chaining consumer and its schedule. Imported by the worker app, and by the gateway unless
// GATEHOUSE_RUN_WORKERS=false.
@Module({
  imports: [AuditModule, AuditSinksModule, BullRootModule, BullModule.registerQueue({ name: QUEUES.audit })],
  providers: [AuditProcessor, AuditScheduler],
})
export class AuditJobsModule {}
