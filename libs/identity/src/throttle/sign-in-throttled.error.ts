// Too many failed sign-ins for the account or from the address: refused before the password is checked, so a
// right password is refused too until the window ends (otherwise the lock would only slow a guesser down).
export class SignInThrottledError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
    super(`Too many failed sign-in attempts. Try again in ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}.`);
    this.name = 'SignInThrottledError';
  }
}
