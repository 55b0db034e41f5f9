import type { JobsOptions } from 'bullmq';
import type { WebhookEventName } from '@gatehouse/config';

/** One event to one webhook. The body is fixed when the event happens; each attempt signs it afresh. */
export interface WebhookDeliveryJob {
  organizationId: string;
  webhookId: string;
  eventId: string;
  type: WebhookEventName;
  body: string;
}

// About an hour of retries with exponential backoff (1 s, 2 s, 4 s … 34 min) before a delivery is given up.
export const WEBHOOK_DELIVERY_OPTIONS: JobsOptions = {
  attempts: 12,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: 1_000,
  removeOnFail: 5_000,
};
