import { createHash } from 'node:crypto';
import type { PlatformLimits, RateSpec } from '@gatehouse/config';

/**
 * Who a quota belongs to. `client` is always counted together with the caller's IP (see TOKEN below); `credential`
 * is an authenticated principal's key or OAuth grant (Principal.apiKeyId), `organization` its organization.
 */
export type RateLimitPartition = 'ip' | 'client' | 'account' | 'credential' | 'organization';

export interface RateLimitRule {
  /** The quota policy's name in the RateLimit and RateLimit-Policy header fields, and in its Redis keys. */
  readonly name: string;
  readonly per: RateLimitPartition;
  readonly points: number;
  readonly windowSeconds: number;
}

// Nothing at the token and revocation endpoints can be guessed (codes, tokens and client secrets are 256-bit
// random), so their limits are against floods, not brute force; only the password is worth guessing. Client ids
// are public (a client ID metadata document's URL is the same for every Claude user of the deployment), so a
// per-client quota is counted per client *and* IP: a stranger sending junk under Claude's client_id exhausts
// only their own address's quota, never Claude's, and one busy client on a shared ChatGPT or Claude egress
// address cannot starve the others behind it.
const MINUTE = 60;

export const RATE_LIMITS = {
  // Unauthenticated and each one writes a row, but ChatGPT registers a client per person who adds the connector,
  // all from a few shared egress addresses: a company rolling the connector out at 9 am must fit. 60 per
  // 10 minutes is a rollout of several hundred people an hour from one address, and a harmless row count for a spammer.
  register: [{ name: 'register', per: 'ip', points: 60, windowSeconds: 10 * MINUTE }],
  // A person's client exchanges one code and refreshes about once an access token lifetime (an hour); 120 a minute
  // leaves room for retries and many parallel sessions. The per-address backstop is what every client behind one
  // ChatGPT or Claude egress address shares: 600 a minute is tens of thousands of people refreshing hourly.
  token: [
    { name: 'token', per: 'client', points: 120, windowSeconds: MINUTE },
    { name: 'token-ip', per: 'ip', points: 600, windowSeconds: MINUTE },
  ],
  // Clients revoke when a person disconnects, rarely more than a couple of tokens at a time.
  revoke: [{ name: 'revoke', per: 'client', points: 60, windowSeconds: MINUTE }],
  // The browser's address is the person's own, or their office's NAT shared by colleagues connecting at once;
  // each request only stores a pending authorization for a few minutes.
  authorize: [{ name: 'authorize', per: 'ip', points: 300, windowSeconds: MINUTE }],
  // Failed passwords only (a success resets the account's count). 10 per account per 15 minutes caps online guessing
  // at about a thousand a day wherever it comes from, and locks the account until the window ends; 100 per address
  // stops one address from spraying a few guesses across many accounts, and is far more than an office mistypes.
  'sign-in': [
    { name: 'sign-in-account', per: 'account', points: 10, windowSeconds: 15 * MINUTE },
    { name: 'sign-in-ip', per: 'ip', points: 100, windowSeconds: 15 * MINUTE },
  ],
  // Every use of a one-time set-password link, valid or not. Its token is 256 random bits and cannot be guessed, so
  // this is against floods of attempts (each one hashes a password), as sign-in's per-address quota is.
  'set-password': [{ name: 'set-password-ip', per: 'ip', points: 30, windowSeconds: 15 * MINUTE }],
  // Failed bearer authentications are not refused by this (a guess at a 256-bit credential is hopeless anyway):
  // it bounds how many auth.failed records, and credential lookups, one address can cause. 60 a minute is far
  // more than any misconfigured client retries; past it the address's failures go unrecorded until the window ends.
  'bearer-failure': [{ name: 'bearer-failure-ip', per: 'ip', points: 60, windowSeconds: MINUTE }],
  // Not a limit on calls: how many tools/calls refused by a per-process cap (sessions, calls in flight) a credential
  // gets recorded in the audit log, so that a flood of refusals is a count on /metrics, not a flood of records.
  'capped-call-record': [{ name: 'capped-call-records', per: 'credential', points: 1, windowSeconds: MINUTE }],
} as const satisfies Record<string, readonly RateLimitRule[]>;

/**
 * The deployment operator's quotas for authenticated principals (config file `platform.limits`). Each rule is named
 * after its setting, so a RateLimit header field or a refusal names what to change.
 */
export function principalRateLimits(limits: PlatformLimits) {
  const rule = (name: keyof PlatformLimits, per: 'credential' | 'organization', rate: RateSpec): RateLimitRule => ({
    name,
    per,
    points: rate.requests,
    windowSeconds: rate.windowSeconds,
  });
  return {
    'tool-call': [
      rule('toolCallsPerCredential', 'credential', limits.toolCallsPerCredential),
      rule('toolCallsPerOrganization', 'organization', limits.toolCallsPerOrganization),
    ],
    api: [rule('apiRequestsPerCredential', 'credential', limits.apiRequestsPerCredential)],
  } satisfies Record<string, readonly RateLimitRule[]>;
}

export type PrincipalRateLimitPolicy = keyof ReturnType<typeof principalRateLimits>;
export type RateLimitPolicy = keyof typeof RATE_LIMITS | PrincipalRateLimitPolicy;

/** The partition values of one request; a policy uses those its rules are counted per. */
export type RateLimitSubject = { readonly [P in RateLimitPartition]?: string };

export interface RateLimitResult {
  readonly rule: RateLimitRule;
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  /**
   * Points counted in the window so far, this request's included when this quota counted it (more than `limit` once
   * refused). A refused request is counted only by the quotas that refused it.
   */
  readonly consumed: number;
  /** Seconds until the window ends and the quota is whole again; at least 1. */
  readonly resetSeconds: number;
}

// Values arrive from the request (a client_id can be a long URL, a form field up to the body limit): long ones are
// hashed so a key stays small. Emails are folded to lower case, as accounts are looked up.
const MAX_KEY_VALUE = 128;

export function partitionKey(rule: RateLimitRule, subject: RateLimitSubject): string {
  const value = (part: RateLimitPartition) => normalize(part, subject[part] ?? '');
  return rule.per === 'client' ? `${value('client')}|${value('ip')}` : value(rule.per);
}

function normalize(part: RateLimitPartition, raw: string): string {
  const value = part === 'account' ? raw.trim().toLowerCase() : raw;
  if (value === '') return '-';
  return value.length <= MAX_KEY_VALUE ? value : `sha256:${createHash('sha256').update(value).digest('base64url')}`;
}

/**
 * The RateLimit-Policy and RateLimit fields of draft-ietf-httpapi-ratelimit-headers (-11): one Structured Fields
 * List item per quota policy, e.g. `"token";q=120;w=60` and `"token";r=0;t=37`. When a quota is exhausted, RateLimit
 * names only the exhausted ones, so that Retry-After is never earlier than the end of an effective window it sits
 * beside (§6).
 */
export function rateLimitHeaders(results: readonly RateLimitResult[]): { 'RateLimit-Policy': string; RateLimit: string } {
  const exhausted = results.filter((result) => !result.allowed);
  return {
    'RateLimit-Policy': results.map(({ rule }) => `"${rule.name}";q=${rule.points};w=${rule.windowSeconds}`).join(', '),
    RateLimit: (exhausted.length > 0 ? exhausted : results).map((result) => `"${result.rule.name}";r=${result.remaining};t=${result.resetSeconds}`).join(', '),
  };
}

/** Seconds until every exhausted quota has reset (Retry-After), or 0 when none is exhausted. */
export function retryAfterSeconds(results: readonly RateLimitResult[]): number {
  return Math.max(0, ...results.filter((result) => !result.allowed).map((result) => result.resetSeconds));
}

/** Whether this request was the first of its window that a quota refused (it took the count past the quota). */
export function firstRefusal(result: RateLimitResult, points = 1): boolean {
  return !result.allowed && result.consumed - points <= result.limit;
}
