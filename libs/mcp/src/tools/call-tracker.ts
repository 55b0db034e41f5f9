import { Injectable } from '@nestjs/common';

// Counts tool calls in flight so shutdown can wait for them to finish before closing anything.
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

  /** Stops new calls and resolves when the last one ends, or after `timeoutMs`; true when all finished. */
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
