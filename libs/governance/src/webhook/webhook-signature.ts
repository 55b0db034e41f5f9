import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Gatehouse-Signature';

// Stripe's scheme: an HMAC-SHA256 over "<timestamp>.<body>", so a receiver can refuse replays of old deliveries.
// Header: Gatehouse-Signature: t=<unix seconds>,v1=<hex>
export function signWebhook(secret: string, body: string, timestamp: number): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver does: true when the header signs this body with this secret, no more than `toleranceSeconds` ago. */
export function verifyWebhookSignature(secret: string, body: string, header: string, nowSeconds = Date.now() / 1000, toleranceSeconds = 300): boolean {
  const parts = new Map(header.split(',').map((part) => part.split('=', 2) as [string, string]));
  const timestamp = Number(parts.get('t'));
  const signature = parts.get('v1');
  if (!Number.isInteger(timestamp) || !signature || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, body, timestamp).split('v1=')[1]!, 'hex');
  const given = Buffer.from(signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
