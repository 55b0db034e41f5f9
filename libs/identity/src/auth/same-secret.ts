import { timingSafeEqual } from 'node:crypto';

/** Whether `sent` is the `expected` secret (a CSRF token, a binding), compared in constant time; false for a non-string. */
export function sameSecret(expected: string, sent: unknown): boolean {
  if (typeof sent !== 'string') return false;
  const left = Buffer.from(expected);
  const right = Buffer.from(sent);
  return left.length === right.length && timingSafeEqual(left, right);
}
