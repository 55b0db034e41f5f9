import { DynamicModule, Module } from '@nestjs/common';
import { AuditJobsModule, AuditSinkJobsModule } from '@gatehouse/audit';
import { AppConfig, ConfigModule, LoggingModule, PlatformSettings } from '@gatehouse/config';
import { JobsModule } from '@gatehouse/connections';
import { DbModule } from '@gatehouse/db';
import { EgressModule } from '@gatehouse/egress';
import { WebhookJobsModule } from '@gatehouse/governance';

// The BullMQ consumers on their own, for deployments that scale workers apart from the gateway.
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig, platform: PlatformSettings): DynamicModule {
    return { module: WorkerModule, imports: [ConfigModule.forRoot(config, platform), LoggingModule.forRoot(config), DbModule, EgressModule, JobsModule, WebhookJobsModule, AuditJobsModule, AuditSinkJobsModule] };
  }
}
