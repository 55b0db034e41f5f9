import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { QUEUES } from '@gatehouse/config';
import { BullRootModule } from '@gatehouse/db';
import { WebhookDelivery } from './webhook.delivery';
import { WebhookProcessor } from './webhook.processor';

// The webhook consumer. Imported by the worker app, and by the gateway unless GATEHOUSE_RUN_WORKERS=false.
@Module({
  imports: [BullRootModule, BullModule.registerQueue({ name: QUEUES.webhooks })],
  providers: [WebhookProcessor, WebhookDelivery],
})
export class WebhookJobsModule {}
