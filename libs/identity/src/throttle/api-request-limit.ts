import { Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { GatehouseError } from '@gatehouse/config';
import { credentialKey, Principal } from '../auth/principal';
import { LimitMetrics } from './limit-metrics';
import { RateLimiter } from './rate-limiter.service';
import { rateLimitHeaders, retryAfterSeconds } from './rate-limits';

// platform.limits.apiRequestsPerCredential: every admin API request of a key, counted in Redis across replicas
// before its permission is checked (a refused request costs as much as an allowed one, and may be audited).
@Injectable()
export class ApiRequestLimit {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly metrics: LimitMetrics,
  ) {}

  /** Counts the request and puts the quota's state on the response; a RateLimited error once it is spent. */
  async count(principal: Principal, response: Response): Promise<void> {
    const results = await this.limiter.consume('api', { credential: credentialKey(principal) });
    response.set(rateLimitHeaders(results));
    const retryAfter = retryAfterSeconds(results);
    if (retryAfter === 0) return;
    const { rule } = results.find((result) => !result.allowed)!;
    this.metrics.refused(principal.organizationId, rule.name);
    throw GatehouseError.rateLimited(
      `Too many admin API requests with this key: at most ${rule.points} every ${rule.windowSeconds} s ` +
        `(platform.limits.${rule.name}); retry after ${retryAfter} s`,
      retryAfter,
    );
  }
}
