import { randomUUID } from 'node:crypto';
import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { JOBS, QUEUES, WebhookEventName } from '@gatehouse/config';
import { WebhookRepository } from '@gatehouse/db';
import { WEBHOOK_DELIVERY_OPTIONS, WebhookDeliveryJob } from './webhook.job';

// Events go out through the queue, so a slow or failing receiver never holds up a call, and deliveries are
// retried from any worker.
@Injectable()
export class WebhookService {
  constructor(
    private readonly webhooks: WebhookRepository,
    @InjectQueue(QUEUES.webhooks) private readonly queue: Queue<WebhookDeliveryJob>,
  ) {}

  /**
   * Queues the event for each of the organization's webhooks subscribed to it; returns how many. `eventId` makes
   * the job ids deterministic, so an event emitted twice is delivered once.
   */
  async emit(organizationId: string, type: WebhookEventName, data: Record<string, unknown>, eventId: string = randomUUID()): Promise<number> {
    const targets = await this.webhooks.subscribers(organizationId, type);
    if (targets.length === 0) return 0;
    const body = JSON.stringify({ id: eventId, type, createdAt: new Date().toISOString(), organizationId, data });
    await this.queue.addBulk(
      targets.map((target) => ({
        name: JOBS.deliverWebhook,
        data: { organizationId, webhookId: target.id, eventId, type, body },
        opts: { ...WEBHOOK_DELIVERY_OPTIONS, jobId: `${eventId}.${target.id}` },
      })),
    );
    return targets.length;
  }
}
