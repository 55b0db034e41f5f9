import { DynamicModule, Global, Module } from '@nestjs/common';
import { AccountService } from './account/account.service';
import { BrowserSessions } from './account/browser-sessions.service';
import { PasswordSetupLinks } from './account/password-setup-links.service';
import { SessionCookie } from './account/session-cookie';
import { SignInAudit } from './account/sign-in.audit';
import { ApiKeyService } from './api-key/api-key.service';
import { KeyUsageRecorder } from './api-key/key-usage.recorder';
import { AbilityFactory } from './auth/ability.factory';
import { AuthFailureAudit } from './auth/auth-failure.audit';
import { AuthGuard } from './auth/auth.guard';
import { SessionAuthenticator } from './auth/session-authenticator';
import { BearerAuthenticator } from './auth/bearer-authenticator';
import { PrincipalCache } from './auth/principal-cache';
import { MembershipService } from './membership/membership.service';
import { AuthorizationService } from './oauth/authorization.service';
import { OAuthClientService } from './oauth/oauth-client.service';
import { OAuthSettings } from './oauth/oauth-settings';
import { OAuthTokenService } from './oauth/oauth-token.service';
import { TokenAudit } from './oauth/token.audit';
import { FederatedAccounts } from './sso/federated-accounts.service';
import { IdentityProviderService } from './sso/identity-provider.service';
import { OidcSignInService } from './sso/oidc-sign-in.service';
import { ApiRequestLimit } from './throttle/api-request-limit';
import { LimitMetrics } from './throttle/limit-metrics';
import { RateLimiter } from './throttle/rate-limiter.service';

const PROVIDERS = [
  AccountService,
  BrowserSessions,
  PasswordSetupLinks,
  SessionCookie,
  ApiKeyService,
  KeyUsageRecorder,
  AbilityFactory,
  AuthGuard,
  SessionAuthenticator,
  BearerAuthenticator,
  PrincipalCache,
  MembershipService,
  AuthorizationService,
  OAuthClientService,
  OAuthTokenService,
  OidcSignInService,
  FederatedAccounts,
  IdentityProviderService,
  RateLimiter,
  LimitMetrics,
  ApiRequestLimit,
  SignInAudit,
  AuthFailureAudit,
  TokenAudit,
];

@Global()
@Module({})
export class IdentityModule {
  static forRoot(oauth: OAuthSettings): DynamicModule {
    return {
      module: IdentityModule,
      providers: [...PROVIDERS, { provide: OAuthSettings, useValue: oauth }],
      exports: [...PROVIDERS, OAuthSettings],
    };
  }
}
