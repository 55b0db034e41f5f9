import { Injectable, Logger } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { WebhookRepository } from '@gatehouse/db';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature';
import { WebhookDeliveryJob } from './webhook.job';

const TIMEOUT_MS = 10_000;

/** POSTs one event to one webhook, signed; throws to have the job retried. */
@Injectable()
export class WebhookDelivery {
  private readonly logger = new Logger(WebhookDelivery.name);

  constructor(private readonly webhooks: WebhookRepository) {}

  async deliver(job: WebhookDeliveryJob): Promise<void> {
    const webhook = await this.webhooks.forDelivery(job.organizationId, job.webhookId);
    if (!webhook) {
      this.logger.log({ webhookId: job.webhookId, eventId: job.eventId }, 'Webhook removed before its delivery; dropped');
      return;
    }
    let response: Response;
    try {
      response = await fetch(webhook.url, {
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
      throw new Error(`Webhook "${webhook.name}" could not be reached: ${(error as Error).message}`);
    }
    await response.body?.cancel();
    if (response.ok) return;
    const problem = `Webhook "${webhook.name}" answered HTTP ${response.status}`;
    // A refusal (or a redirect) will not change by retrying; a timeout, a rate limit or a server error may.
    if (response.status < 500 && response.status !== 408 && response.status !== 429) throw new UnrecoverableError(problem);
    throw new Error(problem);
  }
}
