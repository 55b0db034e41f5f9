import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { JOBS, QUEUES } from '@gatehouse/config';
import { ConnectionEvents } from '../runtime/connection-events';

// Dispatch only: the work itself lives in services.
@Processor(QUEUES.maintenance)
export class MaintenanceProcessor extends WorkerHost {
  private readonly logger = new Logger(MaintenanceProcessor.name);

  constructor(private readonly events: ConnectionEvents) {
    super();
  }

  async process(job: Job): Promise<void> {
    switch (job.name) {
      case JOBS.refreshCatalogs:
        // One schedule for the whole cluster; every gateway replica refreshes its own live catalog.
        await this.events.publish({ type: 'refresh-all' });
        return;
      default:
        this.logger.error(`Unknown job ${job.name} on ${QUEUES.maintenance}`);
        throw new UnrecoverableError(`Unknown job ${job.name}`);
    }
  }
}
