import { Body, Controller, Headers, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { OAuthClientRecord } from '@gatehouse/db';
import {
  OAuthClientService,
  OAuthError,
  OAuthTokenService,
  RequestOrigin,
  requestOrigin,
  TokenAudit,
  TokenResponse,
} from '@gatehouse/identity';
import { clientCredentials } from './client-credentials';
import { RateLimited } from './rate-limit.guard';

type Form = Record<string, unknown>;

// Machine-to-machine OAuth endpoints: RFC 7591 registration, RFC 6749 token, RFC 7009 revocation. Their errors
// take RFC 6749 §5.2 form, which OAuth clients parse (ProblemFilter knows these paths).
@ApiExcludeController()
@Controller('oauth')
export class OAuthEndpointsController {
  constructor(
    private readonly clients: OAuthClientService,
    private readonly tokens: OAuthTokenService,
    private readonly audit: TokenAudit,
  ) {}

  @Post('register')
  @HttpCode(201)
  @RateLimited('register')
  register(@Body() body: unknown, @Res({ passthrough: true }) response: Response): Promise<Record<string, unknown>> {
    response.setHeader('Cache-Control', 'no-store');
    return this.clients.register(body);
  }

  @Post('token')
  @HttpCode(200)
  @RateLimited('token')
  async token(
    @Body() form: Form | undefined,
    @Headers('authorization') authorization: string | undefined,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<TokenResponse> {
    response.setHeader('Cache-Control', 'no-store');
    response.setHeader('Pragma', 'no-cache');
    const params = form ?? {};
    const origin = requestOrigin(request);
    const client = await this.client(params, authorization, origin, 'token');
    switch (params['grant_type']) {
      case 'authorization_code':
        return this.tokens.exchangeCode(client, params, origin);
      case 'refresh_token':
        return this.tokens.refresh(client, params, origin);
      case undefined:
        throw new OAuthError('invalid_request', 'grant_type is missing');
      default:
        throw new OAuthError('unsupported_grant_type', `grant_type ${String(params['grant_type'])} is not supported; use authorization_code or refresh_token`);
    }
  }

  @Post('revoke')
  @HttpCode(200)
  @RateLimited('revoke')
  async revoke(@Body() form: Form | undefined, @Headers('authorization') authorization: string | undefined, @Req() request: Request): Promise<Record<string, never>> {
    const params = form ?? {};
    const origin = requestOrigin(request);
    const client = await this.client(params, authorization, origin, 'revoke');
    await this.tokens.revoke(client, params, origin);
    return {};
  }

  // A client that fails to authenticate belongs to no organization: its auth.failed goes to the deployment's chain.
  private async client(params: Form, authorization: string | undefined, origin: RequestOrigin, endpoint: 'token' | 'revoke'): Promise<OAuthClientRecord> {
    let clientId: string | null = null;
    try {
      const credentials = clientCredentials(params, authorization);
      clientId = credentials.clientId ?? null;
      return await this.clients.authenticate(credentials);
    } catch (error) {
      if (error instanceof OAuthError && error.code === 'invalid_client') {
        throw await this.audit.failed(error, null, { clientId: clientId?.slice(0, 200) ?? null, name: null }, origin, { endpoint });
      }
      throw error;
    }
  }
}
