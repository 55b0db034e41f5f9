import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { QUEUES } from '@gatehouse/config';
import { BullRootModule } from '@gatehouse/db';
import { AuditSinkMetrics } from './audit-sink.metrics';
import { AuditSinkQueue } from './audit-sink.queue';
import { AuditSinkService } from './audit-sink.service';

const PROVIDERS = [AuditSinkService, AuditSinkQueue, AuditSinkMetrics];

// The sinks' admin side and their queue: in every gateway, whether or not it runs the consumers.
@Module({
  imports: [BullRootModule, BullModule.registerQueue({ name: QUEUES.auditSinks })],
  providers: PROVIDERS,
  exports: PROVIDERS,
})
export class AuditSinksModule {}
