import { Injectable, Logger } from '@nestjs/common';
import * as oidc from 'openid-client';
import { IdentityProviderRecord, IdentityProviderRepository, RedisService, UserRecord, UserRepository } from '@gatehouse/db';
import { SignInAudit } from '../account/sign-in.audit';
import { RequestOrigin } from '../auth/audit-actor';
import { PrincipalCache } from '../auth/principal-cache';
import { OAuthSettings } from '../oauth/oauth-settings';
import { emailDomainAllowed, roleFromGroups } from './role-mapping';

// Long enough to sign in at the identity provider (including its MFA), short enough to expire abandoned attempts.
const FLOW_TTL_SECONDS = 10 * 60;
// Discovery documents and keys are re-read at most this often; a provider edited through the API is re-read at once.
const DISCOVERY_TTL_MS = 60 * 60 * 1000;

/** A sign-in that cannot complete, with a sentence for the person and the status of the page that says it. */
export class SsoSignInError extends Error {
  constructor(
    message: string,
    readonly status: 403 | 404 | 502 = 403,
  ) {
    super(message);
  }
}

interface FlowState {
  providerId: string;
  /** The pending OAuth authorization the person was on when they chose the provider. */
  requestId: string;
  codeVerifier: string;
  nonce: string;
}

export interface SsoSignIn {
  user: UserRecord;
  organizationId: string;
  requestId: string;
}

interface SsoAttempt {
  organizationId: string | undefined;
  email: string;
  issuer: string | null;
}

export interface SsoProviderLink {
  id: string;
  label: string;
}

// Sign-in through an organization's OpenID Connect provider: authorization code + PKCE + nonce with
// openid-client, ID token validated by it; the person is provisioned just in time with the role their groups
// map to, and only with an email of an allowed domain.
@Injectable()
export class OidcSignInService {
  private readonly logger = new Logger(OidcSignInService.name);
  private readonly configurations = new Map<string, { configuration: Promise<oidc.Configuration>; loadedAt: number; version: number }>();

  constructor(
    private readonly providers: IdentityProviderRepository,
    private readonly users: UserRepository,
    private readonly redis: RedisService,
    private readonly cache: PrincipalCache,
    private readonly settings: OAuthSettings,
    private readonly signIns: SignInAudit,
  ) {}

  get callbackUrl(): string {
    return `${this.settings.issuer}/oauth/sso/callback`;
  }

  async links(): Promise<SsoProviderLink[]> {
    return (await this.providers.list()).map((provider) => ({ id: provider.id, label: provider.organization.name }));
  }

  /** The identity provider's authorization URL for this person's pending request. */
  async start(providerId: string, requestId: string): Promise<URL> {
    const provider = await this.providers.findById(providerId);
    if (!provider) throw new SsoSignInError('That sign-in option no longer exists.', 404);
    let configuration: oidc.Configuration;
    try {
      configuration = await this.configuration(provider);
    } catch (error) {
      this.logger.warn({ err: error, issuer: provider.issuer }, 'OIDC discovery failed');
      throw new SsoSignInError(`The identity provider of ${provider.organization.name} cannot be reached right now. Try again in a moment.`, 502);
    }
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const flow: FlowState = { providerId, requestId, codeVerifier, nonce: oidc.randomNonce() };
    await this.redis.client.set(this.key(state), JSON.stringify(flow), 'EX', FLOW_TTL_SECONDS);
    return oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: this.callbackUrl,
      scope: `openid email profile${provider.groupsClaim ? ` ${provider.groupsClaim}` : ''}`,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce: flow.nonce,
    });
  }

  /** Completes the sign-in from the provider's redirect back to us, and records it (auth.sign_in). */
  async finish(callback: URL, origin: RequestOrigin): Promise<SsoSignIn> {
    const attempt: SsoAttempt = { organizationId: undefined, email: '', issuer: null };
    try {
      const signedIn = await this.complete(callback, attempt);
      await this.signIns.succeeded(signedIn.user, 'oidc', origin, signedIn.organizationId, { issuer: attempt.issuer });
      return signedIn;
    } catch (error) {
      // Before the provider is known (an expired state), the attempt belongs to no organization.
      if (error instanceof SsoSignInError) await this.signIns.failed(attempt.email, 'oidc', error.message, origin, attempt.organizationId, { issuer: attempt.issuer });
      throw error;
    }
  }

  // Fills in the attempt as it learns the provider and the email, for the audit record of a failure.
  private async complete(callback: URL, attempt: SsoAttempt): Promise<SsoSignIn> {
    const state = callback.searchParams.get('state');
    const stored = state ? await this.redis.client.getdel(this.key(state)) : null;
    if (!stored) throw new SsoSignInError('This sign-in attempt has expired or was already used. Start again.');
    const flow = JSON.parse(stored) as FlowState;
    const providerError = callback.searchParams.get('error');
    if (providerError) {
      throw new SsoSignInError(`The identity provider refused the sign-in (${providerError}${callback.searchParams.get('error_description') ? `: ${callback.searchParams.get('error_description')}` : ''}).`);
    }
    const provider = await this.providers.findById(flow.providerId);
    if (!provider) throw new SsoSignInError('That sign-in option no longer exists.');
    attempt.organizationId = provider.organization.id;
    attempt.issuer = provider.issuer;

    let claims: oidc.IDToken;
    try {
      const tokens = await oidc.authorizationCodeGrant(await this.configuration(provider), callback, {
        pkceCodeVerifier: flow.codeVerifier,
        expectedState: state!,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      claims = tokens.claims()!;
    } catch (error) {
      this.logger.warn({ err: error, issuer: provider.issuer }, 'OIDC sign-in failed');
      throw new SsoSignInError('The identity provider’s answer could not be verified. Try again, or ask an administrator to check the sign-in configuration.');
    }

    const email = typeof claims['email'] === 'string' ? claims['email'].toLowerCase() : null;
    if (!email) throw new SsoSignInError('The identity provider did not share an email address.');
    attempt.email = email;
    if (claims['email_verified'] === false) throw new SsoSignInError(`${email} is not verified at the identity provider.`);
    if (!emailDomainAllowed(email, provider.allowedDomains)) {
      throw new SsoSignInError(`${email} may not sign in to ${provider.organization.name}: only ${provider.allowedDomains.join(', ')} addresses may.`);
    }
    const role = roleFromGroups(provider.groupsClaim ? claims[provider.groupsClaim] : undefined, provider.roleMap, provider.defaultRole);
    const name = typeof claims['name'] === 'string' ? claims['name'] : null;
    const { user, roleChanged } = await this.users.provisionMember(provider.organization.id, email, name, role);
    // Tokens cache the role they were authenticated with; the next request must see the new one.
    if (roleChanged) await this.cache.invalidateAll();
    return { user, organizationId: provider.organization.id, requestId: flow.requestId };
  }

  private configuration(provider: IdentityProviderRecord): Promise<oidc.Configuration> {
    const version = provider.updatedAt.getTime();
    const cached = this.configurations.get(provider.id);
    if (cached && cached.version === version && Date.now() - cached.loadedAt < DISCOVERY_TTL_MS) return cached.configuration;
    const issuer = new URL(provider.issuer);
    const configuration = oidc.discovery(issuer, provider.clientId, undefined, oidc.ClientSecretBasic(provider.clientSecret), {
      // Plain http is allowed by the config only for a loopback issuer (development and tests).
      ...(issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {}),
    });
    configuration.catch(() => this.configurations.delete(provider.id));
    this.configurations.set(provider.id, { configuration, loadedAt: Date.now(), version });
    return configuration;
  }

  private key(state: string): string {
    return this.redis.key('sso-flow', state);
  }
}
