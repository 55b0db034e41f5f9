export type CallExpiry = 'idle' | 'deadline';

/**
 * The time limits of one call, as one AbortSignal: an idle timeout that progress re-arms, and a deadline
 * counted from the start that nothing extends (a downstream sending progress forever must not hold a call
 * forever). The caller's own signal aborts it too. dispose() once the call has settled.
 */
export class CallClock {
  private readonly controller = new AbortController();
  private readonly deadline: NodeJS.Timeout;
  private idle: NodeJS.Timeout | undefined;
  private holds = 0;
  private _expired: CallExpiry | null = null;
  private readonly forwardAbort: () => void;

  /** idleMs null: no idle timeout here (the SDK keeps its own). */
  constructor(
    private readonly idleMs: number | null,
    deadlineMs: number,
    private readonly callerSignal?: AbortSignal,
  ) {
    this.deadline = setTimeout(() => this.expire('deadline'), deadlineMs);
    this.forwardAbort = () => this.controller.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', this.forwardAbort, { once: true });
    if (callerSignal?.aborted) this.forwardAbort();
    this.armIdle();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Which limit stopped the call, if one did. */
  get expired(): CallExpiry | null {
    return this._expired;
  }

  /** The downstream showed progress: the idle timeout starts again (the deadline does not). */
  progress(): void {
    if (!this.signal.aborted) this.armIdle();
  }

  /**
   * The downstream waits on Gatehouse (a request relayed to the client, which a person may take minutes to answer):
   * the idle timeout stops until the returned release is called; the deadline still runs.
   */
  hold(): () => void {
    this.holds++;
    clearTimeout(this.idle);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0 && !this.signal.aborted) this.armIdle();
    };
  }

  expire(limit: CallExpiry): void {
    if (this.signal.aborted) return;
    this._expired = limit;
    this.controller.abort(new Error(`the call's ${limit === 'idle' ? 'idle timeout' : 'deadline'} passed`));
  }

  dispose(): void {
    clearTimeout(this.deadline);
    clearTimeout(this.idle);
    this.callerSignal?.removeEventListener('abort', this.forwardAbort);
  }

  private armIdle(): void {
    if (this.idleMs === null || this.holds > 0) return;
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.expire('idle'), this.idleMs);
  }
}
