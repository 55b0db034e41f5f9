import { DynamicModule, Inject, Injectable, Module, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { ZodSerializerInterceptor, ZodValidationPipe } from 'nestjs-zod';
import { AuditJobsModule, AuditModule, AuditSinkJobsModule, AuditSinksModule } from '@gatehouse/audit';
import { AppConfig, ConfigModule, LoadedConfigFile, LoggingModule, PlatformSettings } from '@gatehouse/config';
import { ConnectionRegistry, ConnectionsModule, JobsModule } from '@gatehouse/connections';
import { DbModule, SecretResealer } from '@gatehouse/db';
import { EgressModule } from '@gatehouse/egress';
import { GovernanceModule, OverviewModule, WebhookJobsModule, WorkflowSchedules } from '@gatehouse/governance';
import { IdentityModule, OAuthSettings } from '@gatehouse/identity';
import { McpModule } from '@gatehouse/mcp';
import { ApiKeysController } from './api/api-keys.controller';
import { EndpointsController } from './api/endpoints.controller';
import { ApprovalsController } from './api/approvals.controller';
import { WorkflowsController } from './api/workflows.controller';
import { AuditController } from './api/audit.controller';
import { AuditSettingsController } from './api/audit-settings.controller';
import { AuditSinksController } from './api/audit-sinks.controller';
import { BudgetsController } from './api/budgets.controller';
import { ConnectionsController } from './api/connections.controller';
import { CostsController } from './api/costs.controller';
import { IdentityProviderController } from './api/identity-provider.controller';
import { MembersController } from './api/members.controller';
import { OverviewController } from './api/overview.controller';
import { PlatformController } from './api/platform.controller';
import { PoliciesController } from './api/policies.controller';
import { OrganizationToolChangesController, ToolChangesController } from './api/tool-changes.controller';
import { ToolsController } from './api/tools.controller';
import { UsageController } from './api/usage.controller';
import { HealthController } from './health/health.controller';
import { AdminAuditInterceptor } from './http/admin-audit.interceptor';
import { ProblemFilter } from './http/problem.filter';
import { MetricsController } from './metrics/metrics.controller';
import { AuthorizeController } from './oauth/authorize.controller';
import { SessionController } from './api/session.controller';
import { DashboardSignIn } from './dashboard/dashboard-sign-in';
import { DashboardController } from './dashboard/dashboard.controller';
import { LiveEvents } from './dashboard/live-events';
import { EventsController } from './api/events.controller';
import { DashboardSignInController } from './dashboard/dashboard-sign-in.controller';
import { SetPasswordController } from './dashboard/set-password.controller';
import { SignInSteps } from './sign-in/sign-in-steps';
import { OAuthEndpointsController } from './oauth/oauth-endpoints.controller';
import { WellKnownController } from './oauth/well-known.controller';
import { ConfigApplier } from './provisioning/config-applier';

export const CONFIG_FILE = Symbol('CONFIG_FILE');

export interface GatewayOptions {
  config: AppConfig;
  configFile: LoadedConfigFile | null;
}

// Order matters: the config file is applied before any downstream connection starts, so the first
// runtime state is already the declared one.
@Injectable()
class GatewayBootstrap implements OnApplicationBootstrap {
  constructor(
    private readonly resealer: SecretResealer,
    private readonly applier: ConfigApplier,
    private readonly registry: ConnectionRegistry,
    private readonly schedules: WorkflowSchedules,
    @Optional() @Inject(CONFIG_FILE) private readonly configFile: LoadedConfigFile | null,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.resealer.resealLegacy();
    if (this.configFile) await this.applier.apply(this.configFile);
    // After the file's workflows are written; idempotent, so every replica does it.
    await this.schedules.syncAll();
    await this.registry.start();
  }
}

@Module({})
export class GatewayModule {
  static forRoot({ config, configFile }: GatewayOptions): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        ConfigModule.forRoot(config, PlatformSettings.from(configFile?.config.platform)),
        LoggingModule.forRoot(config),
        DbModule,
        EgressModule,
        IdentityModule.forRoot(OAuthSettings.from(config, configFile?.config.oauth)),
        ConnectionsModule,
        GovernanceModule,
        McpModule,
        AuditModule,
        AuditSinksModule,
        OverviewModule,
        ...(config.env.GATEHOUSE_RUN_WORKERS ? [JobsModule, WebhookJobsModule, AuditJobsModule, AuditSinkJobsModule] : []),
      ],
      controllers: [
        HealthController,
        MetricsController,
        ConnectionsController,
        ApiKeysController,
        EndpointsController,
        MembersController,
        ApprovalsController,
        WorkflowsController,
        IdentityProviderController,
        PoliciesController,
        PlatformController,
        ToolChangesController,
        OrganizationToolChangesController,
        CostsController,
        BudgetsController,
        UsageController,
        OverviewController,
        ToolsController,
        AuditController,
        AuditSettingsController,
        AuditSinksController,
        WellKnownController,
        OAuthEndpointsController,
        AuthorizeController,
        SessionController,
        EventsController,
        DashboardSignInController,
        SetPasswordController,
        // Last: it answers every other path under /admin with the dashboard's page.
        DashboardController,
      ],
      providers: [
        { provide: CONFIG_FILE, useValue: configFile },
        { provide: APP_PIPE, useClass: ZodValidationPipe },
        { provide: APP_FILTER, useClass: ProblemFilter },
        { provide: APP_INTERCEPTOR, useClass: AdminAuditInterceptor },
        // Response bodies declared with @ZodResponse are shaped by their schema: nothing undeclared leaves.
        { provide: APP_INTERCEPTOR, useClass: ZodSerializerInterceptor },
        SignInSteps,
        DashboardSignIn,
        LiveEvents,
        ConfigApplier,
        GatewayBootstrap,
      ],
    };
  }
}
