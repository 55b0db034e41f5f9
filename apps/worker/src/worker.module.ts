import { DynamicModule, Injectable, Module, OnApplicationBootstrap } from '@nestjs/common';
import { AuditJobsModule, AuditSinkJobsModule } from '@gatehouse/audit';
import { AppConfig, ConfigModule, LoggingModule, PlatformSettings } from '@gatehouse/config';
import { JobsModule } from '@gatehouse/connections';
import { DbModule, SecretResealer } from '@gatehouse/db';
import { EgressModule } from '@gatehouse/egress';
import { WebhookJobsModule } from '@gatehouse/governance';

// A worker may boot before any gateway after an upgrade: it reseals legacy secrets too (the same locked, idempotent
// step), so the webhook and sink secrets its deliveries need open.
@Injectable()
class WorkerBootstrap implements OnApplicationBootstrap {
  constructor(private readonly resealer: SecretResealer) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.resealer.resealLegacy();
  }
}

// The BullMQ consumers on their own, for deployments that scale workers apart from the gateway.
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig, platform: PlatformSettings): DynamicModule {
    return {
      module: WorkerModule,
      imports: [ConfigModule.forRoot(config, platform), LoggingModule.forRoot(config), DbModule, EgressModule, JobsModule, WebhookJobsModule, AuditJobsModule, AuditSinkJobsModule],
      providers: [WorkerBootstrap],
    };
  }
}
