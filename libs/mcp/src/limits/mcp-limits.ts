import { Injectable } from '@nestjs/common';
import { AppConfig, PlatformSettings } from '@gatehouse/config';
import { credentialKey, firstRefusal, LimitMetrics, Principal, RateLimiter, rateLimitHeaders, RateLimitResult, retryAfterSeconds } from '@gatehouse/identity';
import type { LimitRefusal } from './limit-refusal';
import { PrincipalSlots, SlotScope } from './principal-slots';

/** Go ahead, and give the slots back with `release` once the response is written; or the refusal. */
export type Admission = { admitted: true; release: () => void; headers: Record<string, string> } | { admitted: false; refusal: LimitRefusal };

// A caller told to wait for a call to finish retries after this long.
const IN_FLIGHT_RETRY_SECONDS = 1;

// The limits of platform.limits at the MCP endpoint: open sessions and tools/calls in flight per credential and per
// organization, counted in this process (sessions live in one, and so do the calls on them), and tools/calls per
// window, counted in Redis across replicas. A refused call is refused at once, never queued.
@Injectable()
export class McpLimits {
  private readonly sessions: PrincipalSlots;
  private readonly calls: PrincipalSlots;
  private readonly idleSeconds: number;

  constructor(
    platform: PlatformSettings,
    config: AppConfig,
    private readonly limiter: RateLimiter,
    private readonly metrics: LimitMetrics,
  ) {
    const { limits } = platform;
    this.sessions = new PrincipalSlots(limits.sessionsPerCredential, limits.sessionsPerOrganization);
    this.calls = new PrincipalSlots(limits.inFlightCallsPerCredential, limits.inFlightCallsPerOrganization);
    this.idleSeconds = config.env.GATEHOUSE_SESSION_IDLE_SECONDS;
  }

  /** A new session; its release belongs to the session's end, whatever ends it. */
  admitSession(principal: Principal): Admission {
    const release = this.sessions.acquire(principal);
    if (typeof release === 'function') return { admitted: true, release, headers: {} };
    const { limit, whose, cap } = full(this.sessions, release, 'sessionsPerCredential', 'sessionsPerOrganization');
    return this.refuse(principal, 1, {
      limit,
      message:
        `Too many open MCP sessions ${whose}: at most ${cap} on this gateway (platform.limits.${limit}). Close sessions you no longer use ` +
        `(HTTP DELETE /mcp with their Mcp-Session-Id); a session is closed after ${this.idleSeconds} s without a request.`,
      retryAfterSeconds: null,
      headers: {},
      firstOfWindow: null,
    });
  }

  /**
   * `count` tools/calls arriving in one request: counted against the rates first (one Redis round trip), then given
   * slots among the calls in flight.
   */
  async admitCalls(principal: Principal, count: number): Promise<Admission> {
    const results = await this.limiter.consume('tool-call', { credential: credentialKey(principal), organization: principal.organizationId }, count);
    const headers = rateLimitHeaders(results);
    const refused = results.find((result) => !result.allowed);
    // A refused call counted only against the quotas that refused it (RateLimiter.consume): a credential's flood of
    // refused calls does not spend its organization's quota, which the organization's other credentials live on.
    if (refused) return this.refuse(principal, count, this.rateRefusal(refused, results, headers, count));
    const release = this.calls.acquire(principal, count);
    if (typeof release === 'function') return { admitted: true, release, headers };
    const { limit, whose, cap } = full(this.calls, release, 'inFlightCallsPerCredential', 'inFlightCallsPerOrganization');
    return this.refuse(principal, count, {
      limit,
      message:
        `Too many tool calls in flight ${whose}: at most ${cap} at once on this gateway (platform.limits.${limit}). ` +
        'Wait for a call to finish, or cancel one, then retry.',
      retryAfterSeconds: IN_FLIGHT_RETRY_SECONDS,
      headers,
      firstOfWindow: null,
    });
  }

  private rateRefusal(refused: RateLimitResult, results: readonly RateLimitResult[], headers: Record<string, string>, count: number): LimitRefusal {
    const { rule } = refused;
    const retryAfter = retryAfterSeconds(results);
    const whose = rule.per === 'organization' ? 'in this organization' : 'with this credential';
    return {
      limit: rule.name,
      message: `Too many tool calls ${whose}: at most ${rule.points} every ${rule.windowSeconds} s (platform.limits.${rule.name}). Retry after ${retryAfter} s.`,
      retryAfterSeconds: retryAfter,
      headers,
      firstOfWindow: results.some((result) => firstRefusal(result, count)),
    };
  }

  private refuse(principal: Principal, count: number, refusal: LimitRefusal): Admission {
    this.metrics.refused(principal.organizationId, refusal.limit, count);
    return { admitted: false, refusal };
  }
}

/** The cap that is full: its setting, whose it is, and its size. */
function full(slots: PrincipalSlots, scope: SlotScope, perCredential: string, perOrganization: string) {
  return scope === 'credential'
    ? { limit: perCredential, whose: 'for this credential', cap: slots.perCredential }
    : { limit: perOrganization, whose: 'in this organization', cap: slots.perOrganization };
}
