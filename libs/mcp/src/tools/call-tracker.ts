import { Injectable } from '@nestjs/common';

// Counts MCP request/response exchanges in flight (from the POST's arrival until its response has been
// written), so shutdown waits for results to reach clients, not merely for downstreams to answer.
@Injectable()
export class CallTracker {
  private active = 0;
  private draining = false;
  private idle: (() => void)[] = [];

  get inFlight(): number {
    return this.active;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Returns the function that ends the exchange; calling it more than once is harmless. */
  begin(): () => void {
    this.active++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.active--;
      if (this.active === 0) this.idle.splice(0).forEach((resolve) => resolve());
    };
  }

  /** Stops new calls and resolves when the last exchange ends, or after `timeoutMs`; true when all finished. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.draining = true;
    if (this.active === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      new Promise<boolean>((resolve) => this.idle.push(() => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return finished;
  }
}
