import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { JOBS, QUEUES } from '@gatehouse/config';
import { OAuthGrantRepository } from '@gatehouse/db';
import { ConnectionEvents } from '../runtime/connection-events';

// Dispatch only: the work itself lives in services.
@Processor(QUEUES.maintenance)
export class MaintenanceProcessor extends WorkerHost {
  private readonly logger = new Logger(MaintenanceProcessor.name);

  constructor(
    private readonly events: ConnectionEvents,
    private readonly oauthGrants: OAuthGrantRepository,
  ) {
    super();
  }

  async process(job: Job): Promise<void> {
    switch (job.name) {
      case JOBS.refreshCatalogs:
        // One schedule for the whole cluster; every gateway replica refreshes its own live catalog.
        await this.events.publish({ type: 'refresh-all' });
        return;
      case JOBS.purgeOAuth: {
        const purged = await this.oauthGrants.purgeExpired(new Date());
        this.logger.log(purged, 'Purged expired OAuth codes and tokens, and clients that never authorized');
        return;
      }
      default:
        this.logger.error(`Unknown job ${job.name} on ${QUEUES.maintenance}`);
        throw new UnrecoverableError(`Unknown job ${job.name}`);
    }
  }
}
