import { Injectable, Logger } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { WebhookRepository } from '@gatehouse/db';
import { EgressPolicy, EgressRefusal, egressFetch, Fetch } from '@gatehouse/egress';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature';
import { WebhookDeliveryJob } from './webhook.job';

const TIMEOUT_MS = 10_000;
// Only the status is read; a receiver's body is never buffered beyond this.
const MAX_REPLY_BYTES = 64 * 1024;

/** POSTs one event to one webhook, signed; throws to have the job retried. */
@Injectable()
export class WebhookDelivery {
  private readonly logger = new Logger(WebhookDelivery.name);

  private readonly fetch: Fetch;

  constructor(
    private readonly webhooks: WebhookRepository,
    egress: EgressPolicy,
  ) {
    this.fetch = egressFetch(egress, { maxResponseBytes: MAX_REPLY_BYTES });
  }

  async deliver(job: WebhookDeliveryJob): Promise<void> {
    const webhook = await this.webhooks.forDelivery(job.organizationId, job.webhookId);
    if (!webhook) {
      this.logger.log({ webhookId: job.webhookId, eventId: job.eventId }, 'Webhook removed before its delivery; dropped');
      return;
    }
    let response: Response;
    try {
      response = await this.fetch(webhook.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'Gatehouse-Webhooks/1',
          'Gatehouse-Event': job.type,
          'Gatehouse-Delivery': job.eventId,
          [SIGNATURE_HEADER]: signWebhook(webhook.secret, job.body, Math.floor(Date.now() / 1000)),
        },
        body: job.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      const problem = `Webhook "${webhook.name}" could not be reached: ${(error as Error).message}`;
      // The egress policy will refuse the same address on every retry.
      throw error instanceof EgressRefusal ? new UnrecoverableError(problem) : new Error(problem);
    }
    await response.body?.cancel();
    if (response.ok) return;
    const problem = `Webhook "${webhook.name}" answered HTTP ${response.status}`;
    // A refusal (or a redirect) will not change by retrying; a timeout, a rate limit or a server error may.
    if (response.status < 500 && response.status !== 408 && response.status !== 429) throw new UnrecoverableError(problem);
    throw new Error(problem);
  }
}
