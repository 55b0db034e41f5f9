import { Body, Controller, Headers, HttpCode, Post, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { OAuthClientService, OAuthError, OAuthTokenService, TokenResponse } from '@gatehouse/identity';
import { clientCredentials } from './client-credentials';
import { OAuthErrorFilter } from './oauth-error.filter';
import { RateLimited } from './rate-limit.guard';

type Form = Record<string, unknown>;

// Machine-to-machine OAuth endpoints: RFC 7591 registration, RFC 6749 token, RFC 7009 revocation.
@ApiExcludeController()
@Controller('oauth')
@UseFilters(OAuthErrorFilter)
export class OAuthEndpointsController {
  constructor(
    private readonly clients: OAuthClientService,
    private readonly tokens: OAuthTokenService,
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
  async token(@Body() form: Form | undefined, @Headers('authorization') authorization: string | undefined, @Res({ passthrough: true }) response: Response): Promise<TokenResponse> {
    response.setHeader('Cache-Control', 'no-store');
    response.setHeader('Pragma', 'no-cache');
    const params = form ?? {};
    const client = await this.clients.authenticate(clientCredentials(params, authorization));
    switch (params['grant_type']) {
      case 'authorization_code':
        return this.tokens.exchangeCode(client, params);
      case 'refresh_token':
        return this.tokens.refresh(client, params);
      case undefined:
        throw new OAuthError('invalid_request', 'grant_type is missing');
      default:
        throw new OAuthError('unsupported_grant_type', `grant_type ${String(params['grant_type'])} is not supported; use authorization_code or refresh_token`);
    }
  }

  @Post('revoke')
  @HttpCode(200)
  @RateLimited('revoke')
  async revoke(@Body() form: Form | undefined, @Headers('authorization') authorization: string | undefined): Promise<Record<string, never>> {
    const params = form ?? {};
    const client = await this.clients.authenticate(clientCredentials(params, authorization));
    await this.tokens.revoke(client, params);
    return {};
  }
}
