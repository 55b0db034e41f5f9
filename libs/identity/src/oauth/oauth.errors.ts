// RFC 6749 §5.2 / RFC 7591 §3.2.2 / RFC 7009 / RFC 8707 error codes. OAuth endpoints answer in this vocabulary
// (clients parse `error`), not with problem JSON; the OAuth controllers map it once, at the edge.
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'unsupported_token_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'access_denied'
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  | 'server_error'
  | 'temporarily_unavailable';

export class OAuthError extends Error {
  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
  ) {
    super(description);
    this.name = 'OAuthError';
  }

  /** RFC 6749 §5.2: invalid_client is 401 (with a challenge when the client used HTTP Basic); the rest 400. */
  get status(): number {
    if (this.code === 'invalid_client') return 401;
    if (this.code === 'server_error') return 500;
    if (this.code === 'temporarily_unavailable') return 503;
    return 400;
  }

  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}
