import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { QUEUES } from '@gatehouse/config';
import { BullRootModule } from '@gatehouse/db';
import { AuditSinkDeliverer } from './audit-sink.deliverer';
import { AuditSinkProcessor } from './audit-sink.processor';
import { AuditSinkScheduler } from './audit-sink.scheduler';
import { AuditSinksModule } from './audit-sinks.module';
import { SinkTransports } from './transports/sink-transports';

// The delivery consumer and its sweep. Imported by the worker app, and by the gateway unless
// GATEHOUSE_RUN_WORKERS=false.
@Module({
  imports: [AuditSinksModule, BullRootModule, BullModule.registerQueue({ name: QUEUES.auditSinks })],
  providers: [AuditSinkProcessor, AuditSinkScheduler, AuditSinkDeliverer, SinkTransports],
})
export class AuditSinkJobsModule {}
