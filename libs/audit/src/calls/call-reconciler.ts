import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AuditCallRepository } from '@gatehouse/db';
import { AuditLog } from '../record/audit-log';
import { AuditInstance } from './audit-instance';

// "No request record is left without an outcome record": calls opened by a process whose heartbeat has lapsed
// (killed, crashed, partitioned for longer than the TTL) get their outcome `interrupted`. Runs at every
// process's start and on the audit queue's schedule; any number of replicas may run it at once.
@Injectable()
export class CallReconciler implements OnApplicationBootstrap {
  private readonly logger = new Logger(CallReconciler.name);

  constructor(
    private readonly repository: AuditCallRepository,
    private readonly instance: AuditInstance,
    private readonly log: AuditLog,
  ) {}

  onApplicationBootstrap(): void {
    // Not awaited: start-up does not wait for it, and the schedule retries what this misses.
    this.reconcile().catch((error: unknown) => this.logger.warn({ err: error }, 'Could not reconcile interrupted tools/call records'));
  }

  /** Returns the number of calls recorded as interrupted. */
  async reconcile(): Promise<number> {
    const others = (await this.repository.instances()).filter((id) => id !== this.instance.id);
    const dead = await this.instance.dead(others);
    const ended = await this.repository.interrupt(dead, new Date());
    if (ended > 0) {
      this.logger.warn({ calls: ended, instances: dead }, 'Recorded tools/calls of stopped gateway processes as interrupted');
      this.log.requestChaining();
    }
    return ended;
  }
}
