import { Controller, Get, Header, Param } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { ENDPOINT_NAME_PATTERN, GatehouseError } from '@gatehouse/config';
import { OAuthSettings, SUPPORTED_SCOPES, TOKEN_ENDPOINT_AUTH_METHODS } from '@gatehouse/identity';

// Discovery documents: how ChatGPT, Claude and other MCP clients find out where and how to get a token.
@ApiExcludeController()
@Controller('.well-known')
export class WellKnownController {
  constructor(private readonly settings: OAuthSettings) {}

  /** RFC 9728: the MCP endpoint as a protected resource (path-suffixed form, and the root form). */
  @Get(['oauth-protected-resource/mcp', 'oauth-protected-resource'])
  @Header('Cache-Control', 'public, max-age=300')
  protectedResource() {
    return this.resourceMetadata(null);
  }

  /**
   * An endpoint, /mcp/<name>, as a protected resource of its own: tokens are issued for its URL and work there only.
   * Served for any valid name: which organization's endpoint is decided when a person signs in, so answering only
   * for names some organization uses would tell strangers which names those are.
   */
  @Get('oauth-protected-resource/mcp/:endpoint')
  @Header('Cache-Control', 'public, max-age=300')
  endpointResource(@Param('endpoint') endpoint: string) {
    if (!ENDPOINT_NAME_PATTERN.test(endpoint)) throw GatehouseError.notFound('No such protected resource: endpoint names are lower-case letters, digits and "-"');
    return this.resourceMetadata(endpoint);
  }

  private resourceMetadata(endpoint: string | null) {
    return {
      resource: this.settings.resourceFor(endpoint),
      authorization_servers: [this.settings.issuer],
      scopes_supported: SUPPORTED_SCOPES,
      bearer_methods_supported: ['header'],
      resource_name: endpoint === null ? 'Gatehouse MCP gateway' : `Gatehouse MCP endpoint ${endpoint}`,
    };
  }

  /** RFC 8414, and the OpenID Connect discovery alias some clients try first. */
  @Get(['oauth-authorization-server', 'openid-configuration'])
  @Header('Cache-Control', 'public, max-age=300')
  authorizationServer() {
    return {
      issuer: this.settings.issuer,
      authorization_endpoint: this.settings.endpoint('authorize'),
      token_endpoint: this.settings.endpoint('token'),
      registration_endpoint: this.settings.endpoint('register'),
      revocation_endpoint: this.settings.endpoint('revoke'),
      scopes_supported: SUPPORTED_SCOPES,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: TOKEN_ENDPOINT_AUTH_METHODS,
      revocation_endpoint_auth_methods_supported: TOKEN_ENDPOINT_AUTH_METHODS,
      client_id_metadata_document_supported: true,
      authorization_response_iss_parameter_supported: true,
    };
  }
}
