import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { JOBS, QUEUES } from '@gatehouse/config';
import { AuditSinkRepository } from '@gatehouse/db';
import { DeliverAuditSinkJob, deliveryJobId } from './audit-sink.job';

// Enqueues delivery runs. Used by the admin API (in every gateway) and by the chaining and sweep jobs.
@Injectable()
export class AuditSinkQueue {
  constructor(
    @InjectQueue(QUEUES.auditSinks) private readonly queue: Queue<DeliverAuditSinkJob>,
    private readonly sinks: AuditSinkRepository,
  ) {}

  // BullMQ ignores an add whose id is already waiting, delayed or running: a burst becomes one run.
  async deliver(organizationId: string, sinkId: string): Promise<void> {
    await this.queue.add(JOBS.deliverAuditSink, { organizationId, sinkId }, { jobId: deliveryJobId(sinkId), removeOnComplete: true, removeOnFail: true });
  }

  /** A run for every enabled, active sink with records past its cursor. */
  async deliverLagging(): Promise<number> {
    const lagging = await this.sinks.lagging();
    await this.queue.addBulk(
      lagging.map(({ id, organizationId }) => ({
        name: JOBS.deliverAuditSink,
        data: { organizationId, sinkId: id },
        opts: { jobId: deliveryJobId(id), removeOnComplete: true, removeOnFail: true },
      })),
    );
    return lagging.length;
  }
}
