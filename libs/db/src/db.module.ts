import { Global, Module } from '@nestjs/common';
import { ClusterBus } from './cluster-bus';
import { SecretCipher } from './crypto/secret-cipher';
import { SecretResealer } from './crypto/secret-resealer';
import { PrismaService } from './prisma.service';
import { RedisService } from './redis.service';
import { SqlPool } from './sql-pool.service';
import { MetricsRegistry } from './metrics-registry';
import { ApiKeyRepository } from './repositories/api-key.repository';
import { AuditRepository } from './repositories/audit.repository';
import { AuditCallRepository } from './repositories/audit-call.repository';
import { AuditQueryRepository } from './repositories/audit-query.repository';
import { AuditSettingsRepository } from './repositories/audit-settings.repository';
import { AuditSinkRepository } from './repositories/audit-sink.repository';
import { ApprovalRepository } from './repositories/approval.repository';
import { WorkflowRepository } from './repositories/workflow.repository';
import { EndpointRepository } from './repositories/endpoint.repository';
import { BudgetRepository } from './repositories/budget.repository';
import { ConfigStateRepository } from './repositories/config-state.repository';
import { ConnectionRepository } from './repositories/connection.repository';
import { FederatedIdentityRepository } from './repositories/federated-identity.repository';
import { IdentityProviderRepository } from './repositories/identity-provider.repository';
import { MembershipRepository } from './repositories/membership.repository';
import { OAuthClientRepository } from './repositories/oauth-client.repository';
import { OAuthGrantRepository } from './repositories/oauth-grant.repository';
import { OrganizationRepository } from './repositories/organization.repository';
import { PolicyRepository } from './repositories/policy.repository';
import { ToolDefinitionRepository } from './repositories/tool-definition.repository';
import { ToolPinRepository } from './repositories/tool-pin.repository';
import { UsageRepository } from './repositories/usage.repository';
import { UserRepository } from './repositories/user.repository';
import { WebhookRepository } from './repositories/webhook.repository';

const PROVIDERS = [
  PrismaService,
  SqlPool,
  MetricsRegistry,
  RedisService,
  ClusterBus,
  SecretCipher,
  SecretResealer,
  ApiKeyRepository,
  ApprovalRepository,
  WorkflowRepository,
  EndpointRepository,
  ConfigStateRepository,
  ConnectionRepository,
  FederatedIdentityRepository,
  IdentityProviderRepository,
  MembershipRepository,
  OAuthClientRepository,
  OAuthGrantRepository,
  OrganizationRepository,
  PolicyRepository,
  ToolDefinitionRepository,
  ToolPinRepository,
  UserRepository,
  BudgetRepository,
  UsageRepository,
  WebhookRepository,
  AuditRepository,
  AuditCallRepository,
  AuditQueryRepository,
  AuditSettingsRepository,
  AuditSinkRepository,
];

@Global()
@Module({ providers: PROVIDERS, exports: PROVIDERS })
export class DbModule {}
