import { Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { AuditActor, AuditRecorder, DEPLOYMENT_ORGANIZATION_ID } from '@gatehouse/audit';
import { ApiKeyRepository, MetricsRegistry, OAuthGrantRepository } from '@gatehouse/db';
import { ACCESS_TOKEN_PREFIX, accessTokenFailure } from '../oauth/oauth-token.service';
import { RateLimiter } from '../throttle/rate-limiter.service';
import { RATE_LIMITS } from '../throttle/rate-limits';
import { RequestOrigin } from './audit-actor';
import { hashCredential } from './credential-hash';
import { principalOf } from './credential-standing';

const [QUOTA] = RATE_LIMITS['bearer-failure'];

/** Why a presented bearer credential was refused. */
export type BearerFailure = 'unknown' | 'revoked' | 'expired' | 'not_a_member' | 'role_withdrawn' | 'wrong_audience' | 'wrong_kind';

interface Attribution {
  organizationId: string;
  actor: Omit<AuditActor, 'ip' | 'userAgent'>;
  reason: BearerFailure;
  prefix: string | null;
}

// Records auth.failed for a refused bearer credential: in the organization the credential belongs to (a revoked
// key, an expired token), else in the deployment's own chain. Only the failure path pays for the lookups; the
// presented secret is never recorded, at most the display prefix stored with a known credential. Anyone can
// send junk credentials, so one address's failures are recorded up to a quota a minute (RATE_LIMITS); the first
// failure past it is recorded as throttled, the rest only counted, until the window ends.
@Injectable()
export class AuthFailureAudit {
  private readonly logger = new Logger(AuthFailureAudit.name);
  private readonly unrecorded = new Counter({
    name: 'gatehouse_auth_failures_unrecorded_total',
    help: 'Failed bearer authentications not recorded in the audit log because their address was past its quota of records',
    registers: [],
  });

  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly grants: OAuthGrantRepository,
    private readonly recorder: AuditRecorder,
    private readonly limiter: RateLimiter,
    metrics: MetricsRegistry,
  ) {
    metrics.registerMetric(this.unrecorded);
  }

  async bearer(token: string, origin: RequestOrigin, route: { method: string; path: string }, wrongAudience = false): Promise<void> {
    const quota = await this.quota(origin);
    if (quota === 'spent') {
      this.unrecorded.inc();
      return;
    }
    const hash = hashCredential(token);
    const accessToken = token.startsWith(ACCESS_TOKEN_PREFIX);
    const known = accessToken ? await this.accessToken(hash, wrongAudience) : await this.apiKey(hash, wrongAudience);
    await this.recorder.record({
      organizationId: known?.organizationId ?? DEPLOYMENT_ORGANIZATION_ID,
      kind: 'auth.failed',
      actor: { ...(known?.actor ?? { type: accessToken ? 'oauth_client' : 'api_key', id: null, name: null }), ip: origin.ip, userAgent: origin.userAgent },
      target: { type: 'endpoint', method: route.method, path: route.path },
      outcome: 'failure',
      data: {
        method: 'bearer',
        credential: accessToken ? 'access_token' : 'api_key',
        reason: known?.reason ?? 'unknown',
        prefix: known?.prefix ?? null,
        // The rest of the window's failures from this address go unrecorded (counted on /metrics).
        ...(quota === 'last' ? { throttled: true, quotaPerMinute: QUOTA.points } : {}),
      },
    });
  }

  // 'last': the first failure past the quota, recorded to say that the rest will not be. Without Redis to count
  // in, every failure is recorded.
  private async quota(origin: RequestOrigin): Promise<'open' | 'last' | 'spent'> {
    try {
      const [result] = await this.limiter.consume('bearer-failure', { ip: origin.ip ?? undefined });
      if (!result || result.allowed) return 'open';
      return result.consumed === result.limit + 1 ? 'last' : 'spent';
    } catch (error) {
      this.logger.warn({ err: error }, 'Could not count a failed authentication against its quota; recording it');
      return 'open';
    }
  }

  private async apiKey(hash: string, wrongAudience: boolean): Promise<Attribution | null> {
    const key = await this.keys.findBySecretHash(hash);
    if (!key) return null;
    const standing = principalOf(key);
    return {
      organizationId: key.organization.id,
      actor: { type: 'api_key', id: key.id, name: key.name, user: key.userId ? { id: key.userId, email: key.userEmail } : null },
      reason: key.kind !== 'api_key' ? 'wrong_kind' : typeof standing === 'string' ? standing : wrongAudience ? 'wrong_audience' : 'unknown',
      prefix: key.prefix,
    };
  }

  private async accessToken(hash: string, wrongAudience: boolean): Promise<Attribution | null> {
    const token = await this.grants.findToken(hash);
    if (!token) return null;
    const { grant } = token;
    return {
      organizationId: grant.organization.id,
      actor: {
        type: 'oauth_client',
        id: grant.client?.clientId ?? grant.id,
        name: grant.client?.name ?? grant.name,
        user: grant.userId ? { id: grant.userId, email: grant.userEmail } : null,
      },
      reason: wrongAudience ? 'wrong_audience' : (accessTokenFailure(token) ?? 'unknown'),
      prefix: null,
    };
  }
}
