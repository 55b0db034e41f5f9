// A boot failure an operator can fix; main prints its one-line message and exits non-zero, without a stack.
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}
