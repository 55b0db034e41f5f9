import { createHmac, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ApiKeyAccessLevel, AppConfig } from '@gatehouse/config';
import { OAuthGrantRepository, RedisService } from '@gatehouse/db';
import { hashCredential } from '../auth/credential-hash';
import { OAuthClientService } from './oauth-client.service';
import { OAuthError } from './oauth.errors';
import { OAuthSettings } from './oauth-settings';
import { isValidCodeChallenge } from './pkce';
import { grantScope, withoutAdmin } from './scopes';
import { sameSecret } from '../auth/same-secret';

// Long enough to sign in through an identity provider, short enough that an abandoned request goes away.
const PENDING_TTL_SECONDS = 15 * 60;

/** An authorization request that passed validation, waiting for the person to sign in and decide. */
export interface PendingAuthorization {
  id: string;
  /** Random value also held in a cookie of the browser that started the request: only it may continue. */
  binding: string;
  clientId: string;
  clientPublicId: string;
  clientName: string;
  redirectUri: string;
  state: string | undefined;
  codeChallenge: string;
  scope: string;
  access: ApiKeyAccessLevel;
  /** The client asked for administration (mcp:admin): the consent page offers it to admins, unticked. */
  admin: boolean;
  resource: string;
  organizationId: string | null;
}

/**
 * A request that cannot go on. With `redirect`, the client is told at its redirect URI (RFC 6749 §4.1.2.1);
 * without, the client or redirect URI is itself in doubt and the person sees an error page instead.
 */
export class AuthorizationRequestError extends Error {
  constructor(
    readonly error: OAuthError,
    readonly redirect: URL | null,
  ) {
    super(error.description);
  }
}

type Params = Record<string, unknown>;

@Injectable()
export class AuthorizationService {
  private readonly csrfKey: Buffer;

  constructor(
    private readonly clients: OAuthClientService,
    private readonly grants: OAuthGrantRepository,
    private readonly redis: RedisService,
    private readonly settings: OAuthSettings,
    config: AppConfig,
  ) {
    this.csrfKey = config.deriveKey('oauth-csrf');
  }

  /** Validates /oauth/authorize (RFC 6749 §4.1.1 with PKCE, RFC 8707) and stores the request for the pages. */
  async begin(params: Params, binding: string): Promise<PendingAuthorization> {
    const clientPublicId = single(params, 'client_id');
    if (!clientPublicId) throw new AuthorizationRequestError(new OAuthError('invalid_request', 'client_id is missing'), null);
    const client = await this.clients.find(clientPublicId).catch((error: unknown) => {
      // A refused client metadata document: the client itself is in doubt, so the person is told here, not redirected.
      throw error instanceof OAuthError ? new AuthorizationRequestError(error, null) : error;
    });
    if (!client) throw new AuthorizationRequestError(new OAuthError('invalid_client', `There is no client with id ${clientPublicId}`), null);
    const requestedRedirect = single(params, 'redirect_uri');
    const redirectUri = requestedRedirect ?? (client.redirectUris.length === 1 ? client.redirectUris[0]! : undefined);
    if (!redirectUri) {
      throw new AuthorizationRequestError(new OAuthError('invalid_request', 'redirect_uri is required: the client registered several'), null);
    }
    // Exact string comparison (OAuth 2.1 §2.3.1): no prefix, no normalization.
    if (!client.redirectUris.includes(redirectUri)) {
      throw new AuthorizationRequestError(new OAuthError('invalid_request', `redirect_uri ${redirectUri} is not registered for ${client.name}`), null);
    }

    const state = single(params, 'state');
    const fail = (code: OAuthError['code'], description: string) =>
      new AuthorizationRequestError(new OAuthError(code, description), this.errorRedirect(redirectUri, code, description, state));
    for (const name of ['response_type', 'client_id', 'redirect_uri', 'state', 'scope', 'code_challenge', 'code_challenge_method', 'resource']) {
      if (Array.isArray(params[name])) throw fail('invalid_request', `${name} must not be repeated`);
    }
    const responseType = single(params, 'response_type');
    if (responseType !== 'code') {
      throw fail(responseType ? 'unsupported_response_type' : 'invalid_request', responseType ? `response_type ${responseType} is not supported; use code` : 'response_type is missing');
    }
    const method = single(params, 'code_challenge_method');
    const challenge = single(params, 'code_challenge');
    if (!challenge) throw fail('invalid_request', 'code_challenge is required: this server accepts only PKCE with S256');
    if (method !== 'S256') throw fail('invalid_request', method ? `code_challenge_method ${method} is not supported; use S256` : 'code_challenge_method is required and must be S256');
    if (!isValidCodeChallenge(challenge)) throw fail('invalid_request', 'code_challenge must be a base64url SHA-256 (43 characters)');
    const resource = single(params, 'resource') ?? this.settings.resource;
    if (this.settings.endpointOfResource(resource) === undefined) {
      throw fail('invalid_target', `This server issues tokens only for ${this.settings.resource} and its endpoints (${this.settings.resource}/<endpoint>), not ${resource}`);
    }

    const granted = grantScope(single(params, 'scope'));
    const pending: PendingAuthorization = {
      id: randomBytes(24).toString('base64url'),
      binding,
      clientId: client.id,
      clientPublicId,
      clientName: client.name,
      redirectUri,
      state,
      codeChallenge: challenge,
      scope: granted.scope,
      access: granted.access,
      admin: granted.admin,
      resource,
      organizationId: null,
    };
    await this.save(pending);
    return pending;
  }

  /** The request, if it exists and belongs to this browser. */
  async load(id: unknown, binding: string | undefined): Promise<PendingAuthorization | null> {
    if (typeof id !== 'string' || !binding) return null;
    const stored = await this.redis.client.get(this.key(id));
    if (!stored) return null;
    const pending = JSON.parse(stored) as PendingAuthorization;
    return sameSecret(pending.binding, binding) ? pending : null;
  }

  async chooseOrganization(pending: PendingAuthorization, organizationId: string): Promise<void> {
    await this.save({ ...pending, organizationId });
  }

  /**
   * The person approved: one authorization code, and the URL that hands it to the client. Administration is in
   * the code's scope only when the person granted it (`grantAdmin`, which the caller allows only to admins).
   */
  async approve(pending: PendingAuthorization, userId: string, organizationId: string, grantAdmin: boolean): Promise<URL> {
    const requested = grantScope(pending.scope);
    const scope = grantAdmin && requested.admin ? requested : withoutAdmin(requested);
    await this.redis.client.del(this.key(pending.id));
    const code = randomBytes(32).toString('base64url');
    await this.grants.createCode({
      codeHash: hashCredential(code),
      clientId: pending.clientId,
      userId,
      organizationId,
      redirectUri: pending.redirectUri,
      codeChallenge: pending.codeChallenge,
      scope: scope.scope,
      resource: pending.resource,
      expiresAt: new Date(Date.now() + this.settings.authorizationCodeTtlSeconds * 1000),
    });
    const url = new URL(pending.redirectUri);
    url.searchParams.set('code', code);
    if (pending.state !== undefined) url.searchParams.set('state', pending.state);
    url.searchParams.set('iss', this.settings.issuer);
    return url;
  }

  async deny(pending: PendingAuthorization): Promise<URL> {
    await this.redis.client.del(this.key(pending.id));
    return this.errorRedirect(pending.redirectUri, 'access_denied', 'The person denied the request', pending.state);
  }

  /** Ties each form post to its request and browser; a page of another site cannot produce it. */
  csrfToken(pending: PendingAuthorization): string {
    return createHmac('sha256', this.csrfKey).update(`${pending.id}.${pending.binding}`).digest('base64url');
  }

  checkCsrf(pending: PendingAuthorization, token: unknown): boolean {
    return sameSecret(this.csrfToken(pending), token);
  }

  private errorRedirect(redirectUri: string, error: string, description: string, state: string | undefined): URL {
    const url = new URL(redirectUri);
    url.searchParams.set('error', error);
    url.searchParams.set('error_description', description);
    if (state !== undefined) url.searchParams.set('state', state);
    url.searchParams.set('iss', this.settings.issuer);
    return url;
  }

  private async save(pending: PendingAuthorization): Promise<void> {
    await this.redis.client.set(this.key(pending.id), JSON.stringify(pending), 'EX', PENDING_TTL_SECONDS);
  }

  private key(id: string): string {
    return this.redis.key('oauth-request', id);
  }
}

function single(params: Params, name: string): string | undefined {
  const value = params[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
