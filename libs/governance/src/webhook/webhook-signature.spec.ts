import { createHmac } from 'node:crypto';
import { signWebhook, verifyWebhookSignature } from './webhook-signature';

describe('webhook signatures', () => {
  const secret = 'whsec-0123456789abcdef';
  const body = JSON.stringify({ type: 'budget.alert', data: { threshold: 0.8 } });

  it('signs "<timestamp>.<body>" with HMAC-SHA256', () => {
    const expected = createHmac('sha256', secret).update(`1764460800.${body}`).digest('hex');
    expect(signWebhook(secret, body, 1_764_460_800)).toBe(`t=1764460800,v1=${expected}`);
  });

  it('verifies a fresh signature and refuses a changed body, another secret or an old timestamp', () => {
    const header = signWebhook(secret, body, 1_764_460_800);
    expect(verifyWebhookSignature(secret, body, header, 1_764_460_810)).toBe(true);
    expect(verifyWebhookSignature(secret, `${body} `, header, 1_764_460_810)).toBe(false);
    expect(verifyWebhookSignature('another-secret-0000', body, header, 1_764_460_810)).toBe(false);
    expect(verifyWebhookSignature(secret, body, header, 1_764_460_800 + 301)).toBe(false);
    expect(verifyWebhookSignature(secret, body, 'v1=abc', 1_764_460_810)).toBe(false);
  });
});
