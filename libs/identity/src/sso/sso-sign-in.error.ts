// Why a sign-in through an identity provider did not complete: the code goes into the audit record, the message
// (a sentence the person can act on) onto their page and into the record too.
export type SsoSignInFailure =
  | 'unknown_provider'
  | 'provider_unreachable'
  | 'flow_expired'
  | 'provider_refused'
  | 'answer_unverifiable'
  | 'no_email'
  | 'email_unverified'
  | 'domain_not_allowed'
  | 'subject_conflict'
  | 'account_exists';

export class SsoSignInError extends Error {
  constructor(
    readonly code: SsoSignInFailure,
    message: string,
  ) {
    super(message);
    this.name = 'SsoSignInError';
  }

  /** The status of the page that says it: the option is gone, the provider is down, or the sign-in was refused. */
  get status(): 403 | 404 | 502 {
    return this.code === 'unknown_provider' ? 404 : this.code === 'provider_unreachable' ? 502 : 403;
  }
}
