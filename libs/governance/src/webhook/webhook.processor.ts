import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { JOBS, QUEUES } from '@gatehouse/config';
import { WebhookDelivery } from './webhook.delivery';
import { WebhookDeliveryJob } from './webhook.job';

// Dispatch only: the work itself lives in WebhookDelivery.
@Processor(QUEUES.webhooks)
export class WebhookProcessor extends WorkerHost {
  private readonly logger = new Logger(WebhookProcessor.name);

  constructor(private readonly delivery: WebhookDelivery) {
    super();
  }

  async process(job: Job<WebhookDeliveryJob>): Promise<void> {
    switch (job.name) {
      case JOBS.deliverWebhook:
        return this.delivery.deliver(job.data);
      default:
        this.logger.error(`Unknown job ${job.name} on ${QUEUES.webhooks}`);
        throw new UnrecoverableError(`Unknown job ${job.name}`);
    }
  }

  @OnWorkerEvent('failed')
  failed(job: Job<WebhookDeliveryJob> | undefined, error: Error): void {
    const final = !job || error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    this.logger.warn({ eventId: job?.data.eventId, webhookId: job?.data.webhookId, attempt: job?.attemptsMade, final }, error.message);
  }
}
