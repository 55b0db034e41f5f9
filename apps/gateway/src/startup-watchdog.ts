/**
 * Start-up waits on PostgreSQL, Redis, migrations and locks held by other processes. Each wait is bounded where
 * it happens; this is the bound on all of them together: a start-up that has not finished in time prints one line
 * naming the step it was on, and exits non-zero, instead of sitting there neither serving nor failing.
 */
export class StartupWatchdog {
  private step = 'starting';
  private readonly timer: NodeJS.Timeout;

  constructor(timeoutMs: number, onExpiry: (line: string) => void) {
    this.timer = setTimeout(
      () =>
        onExpiry(
          `start-up did not finish within ${timeoutMs} ms (GATEHOUSE_STARTUP_TIMEOUT_MS) while ${this.step}: ` +
            'check that PostgreSQL and Redis answer and that no other gateway is stuck applying the config file, then start again',
        ),
      timeoutMs,
    );
  }

  /** What start-up is doing now, for the line above. */
  at(step: string): void {
    this.step = step;
  }

  done(): void {
    clearTimeout(this.timer);
  }
}
