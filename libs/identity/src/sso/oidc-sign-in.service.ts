import { Injectable, Logger } from '@nestjs/common';
import * as oidc from 'openid-client';
import { PlatformSettings } from '@gatehouse/config';
import { IdentityProviderRecord, IdentityProviderRepository, IdentityProviderSummary, RedisService, UserRecord } from '@gatehouse/db';
import { EgressPolicy, egressFetch, Fetch } from '@gatehouse/egress';
import { SignInAudit } from '../account/sign-in.audit';
import { RequestOrigin } from '../auth/audit-actor';
import { OAuthSettings } from '../oauth/oauth-settings';
import { FederatedAccounts, FederatedLink } from './federated-accounts.service';
import { emailDomain, emailDomainAllowed, roleFromGroups } from './role-mapping';
import { SsoSignInError } from './sso-sign-in.error';

// Long enough to sign in at the identity provider (including its MFA), short enough to expire abandoned attempts.
const FLOW_TTL_SECONDS = 10 * 60;
// Discovery documents and keys are re-read at most this often; a provider edited through the API is re-read at once.
const DISCOVERY_TTL_MS = 60 * 60 * 1000;
// Discovery documents, key sets and token responses are small; an identity provider sending more is refused.
const MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * Where the person goes back to once signed in: the pending OAuth authorization they were on when they chose the
 * provider, or the dashboard, bound to the browser that started (its sign-in cookie's value).
 */
export type SignInReturn = { kind: 'authorization'; requestId: string } | { kind: 'dashboard'; binding: string };

interface FlowState {
  providerId: string;
  returnTo: SignInReturn;
  codeVerifier: string;
  nonce: string;
}

export interface SsoSignIn {
  user: UserRecord;
  returnTo: SignInReturn;
  /** The provider's organization, the only one the browser session may act in; null for a full session. */
  restrictedTo: string | null;
}

interface SsoAttempt {
  organizationId: string | undefined;
  email: string;
  issuer: string | null;
  subject: string | null;
}

export interface SsoProviderLink {
  id: string;
  label: string;
}

/** The identity providers the sign-in page offers for an email. */
export interface SsoDiscovery {
  providers: SsoProviderLink[];
  /** Send the person straight to the one provider: the operator verified the domain for its organization. */
  direct: boolean;
}

// Sign-in through an organization's OpenID Connect provider: authorization code + PKCE + nonce with
// openid-client, ID token validated by it; only a verified email of an allowed domain. Which account that is, and
// what the session may reach, FederatedAccounts decides.
@Injectable()
export class OidcSignInService {
  private readonly logger = new Logger(OidcSignInService.name);
  private readonly configurations = new Map<string, { configuration: Promise<oidc.Configuration>; loadedAt: number; version: number }>();
  // Every request to an identity provider (discovery, keys, tokens) obeys the egress policy: an organization's
  // admin chooses the issuer.
  private readonly fetch: Fetch;

  constructor(
    private readonly providers: IdentityProviderRepository,
    private readonly accounts: FederatedAccounts,
    private readonly redis: RedisService,
    private readonly settings: OAuthSettings,
    private readonly platform: PlatformSettings,
    private readonly signIns: SignInAudit,
    egress: EgressPolicy,
  ) {
    this.fetch = egressFetch(egress, { maxResponseBytes: MAX_RESPONSE_BYTES });
  }

  get callbackUrl(): string {
    return `${this.settings.issuer}/oauth/sso/callback`;
  }

  /**
   * Home-realm discovery, from the email's domain alone (never whether an account exists, so the answer tells no one
   * who has one). Any organization's admin may list any domain, so a provider is only offered, never gone to
   * directly, unless the operator verified the domain for its organization; then it is the only one offered.
   */
  async discover(email: string): Promise<SsoDiscovery> {
    const domain = emailDomain(email);
    if (!domain) return { providers: [], direct: false };
    const accepting = await this.providers.listAcceptingDomain(domain);
    const verified = accepting.filter((provider) => this.platform.verifiedDomains(provider.organization.slug).includes(domain));
    const offered = verified.length > 0 ? verified : accepting;
    return { providers: offered.map(providerLink), direct: verified.length === 1 };
  }

  /** The identity provider's authorization URL for this person, who goes back to `returnTo` once signed in. */
  async start(providerId: string, returnTo: SignInReturn): Promise<URL> {
    const provider = await this.providers.findById(providerId);
    if (!provider) throw providerGone();
    let configuration: oidc.Configuration;
    try {
      configuration = await this.configuration(provider);
    } catch (error) {
      this.logger.warn({ err: error, issuer: provider.issuer }, 'OIDC discovery failed');
      throw new SsoSignInError('provider_unreachable', `The identity provider of ${provider.organization.name} cannot be reached right now. Try again in a moment.`);
    }
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const flow: FlowState = { providerId, returnTo, codeVerifier, nonce: oidc.randomNonce() };
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
    const attempt: SsoAttempt = { organizationId: undefined, email: '', issuer: null, subject: null };
    try {
      const { signedIn, link } = await this.complete(callback, attempt);
      await this.signIns.succeeded(signedIn.user, 'oidc', origin, attempt.organizationId, {
        issuer: attempt.issuer,
        subject: attempt.subject,
        link,
        session: signedIn.restrictedTo ? 'organization' : 'full',
      });
      return signedIn;
    } catch (error) {
      // Before the provider is known (an expired state), the attempt belongs to no organization.
      if (error instanceof SsoSignInError) {
        await this.signIns.failed(attempt.email, 'oidc', error.code, origin, attempt.organizationId, { message: error.message, issuer: attempt.issuer, subject: attempt.subject });
      }
      throw error;
    }
  }

  // Fills in the attempt as it learns the provider and the email, for the audit record of a failure.
  private async complete(callback: URL, attempt: SsoAttempt): Promise<{ signedIn: SsoSignIn; link: FederatedLink }> {
    const state = callback.searchParams.get('state');
    const stored = state ? await this.redis.client.getdel(this.key(state)) : null;
    if (!stored) throw new SsoSignInError('flow_expired', 'This sign-in attempt has expired or was already used. Start again from the application you came from.');
    const flow = JSON.parse(stored) as Partial<FlowState>;
    // An attempt started before the gateway was upgraded names no place to go back to: it is started again.
    if (!flow.returnTo || !flow.providerId) throw new SsoSignInError('flow_expired', 'This sign-in attempt has expired. Start again from the application you came from.');
    const providerError = callback.searchParams.get('error');
    if (providerError) {
      throw new SsoSignInError('provider_refused', `The identity provider refused the sign-in (${providerError}${callback.searchParams.get('error_description') ? `: ${callback.searchParams.get('error_description')}` : ''}).`);
    }
    const provider = await this.providers.findById(flow.providerId);
    if (!provider) throw providerGone();
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
      throw new SsoSignInError('answer_unverifiable', 'The identity provider’s answer could not be verified. Try again, or ask an administrator to check the sign-in configuration.');
    }

    // openid-client checked iss against the discovered issuer; (iss, sub) is the person at that provider.
    attempt.issuer = claims.iss;
    attempt.subject = claims.sub;
    const email = typeof claims['email'] === 'string' ? claims['email'].toLowerCase() : null;
    if (!email) throw new SsoSignInError('no_email', `The identity provider of ${provider.organization.name} did not share an email address. Ask its administrator to release the email claim to Gatehouse.`);
    attempt.email = email;
    // Missing counts as unverified: a provider that does not say it checked the address has not vouched for it.
    if (claims['email_verified'] !== true) {
      throw new SsoSignInError(
        'email_unverified',
        `${email} is not verified at the identity provider of ${provider.organization.name}. Verify the address there (or ask its administrator to), then sign in again.`,
      );
    }
    if (!emailDomainAllowed(email, provider.allowedDomains)) {
      throw new SsoSignInError('domain_not_allowed', `${email} may not sign in to ${provider.organization.name}: only ${provider.allowedDomains.join(', ')} addresses may.`);
    }
    const role = roleFromGroups(provider.groupsClaim ? claims[provider.groupsClaim] : undefined, provider.roleMap, provider.defaultRole);
    const name = typeof claims['name'] === 'string' ? claims['name'] : null;
    const { user, link, restrictedTo } = await this.accounts.signIn(provider, { issuer: claims.iss, subject: claims.sub, email, name }, role);
    return { signedIn: { user, returnTo: flow.returnTo, restrictedTo }, link };
  }

  private configuration(provider: IdentityProviderRecord): Promise<oidc.Configuration> {
    const version = provider.updatedAt.getTime();
    const cached = this.configurations.get(provider.id);
    if (cached && cached.version === version && Date.now() - cached.loadedAt < DISCOVERY_TTL_MS) return cached.configuration;
    const issuer = new URL(provider.issuer);
    const configuration = oidc.discovery(issuer, provider.clientId, undefined, oidc.ClientSecretBasic(provider.clientSecret), {
      [oidc.customFetch]: this.fetch,
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

function providerLink(provider: IdentityProviderSummary): SsoProviderLink {
  return { id: provider.id, label: provider.organization.name };
}

function providerGone(): SsoSignInError {
  return new SsoSignInError('unknown_provider', 'That sign-in option no longer exists. Start again from the application you came from.');
}
