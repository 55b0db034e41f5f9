import { createHmac } from 'node:crypto';
import type { AuditSinkSettings } from '@gatehouse/config';
import type { SinkBatch } from '../sink-event';
import { HttpPoster } from './http-post';
import { SinkTransport, TransportContext } from './sink-transport';

type WebhookSettings = Extract<AuditSinkSettings, { type: 'webhook' }>;

/**
 * Standard Webhooks (standardwebhooks.com) signature: base64 HMAC-SHA256 over `${id}.${timestamp}.${body}`.
 * A `whsec_` secret is base64 after the prefix (the spec's form); any other secret is used as its UTF-8 bytes.
 */
export function standardWebhookSignature(secret: string, id: string, timestamp: number, body: string): string {
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** A batch as one signed POST of {"events": [...]}; any 2xx accepts it. */
export class WebhookTransport implements SinkTransport {
  private readonly poster: HttpPoster;

  constructor(
    settings: WebhookSettings,
    private readonly context: TransportContext,
  ) {
    this.poster = new HttpPoster(new URL(settings.url), settings.caFile, context.egress);
  }

  async send(batch: SinkBatch): Promise<void> {
    const secret = this.context.secret;
    if (!secret) throw new Error('webhook sink has no signing secret');
    const body = `{"events":[${batch.events.map((event) => event.json).join(',')}]}`;
    // The same id for every attempt at the same records, so the receiver can drop a repeated batch.
    const id = `${batch.sinkId}:${batch.firstSeq}-${batch.lastSeq}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const reply = await this.poster.post(
      {
        'User-Agent': 'Gatehouse-Audit/1',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': standardWebhookSignature(secret, id, timestamp, body),
      },
      body,
    );
    if (reply.status < 200 || reply.status >= 300) throw new Error(`webhook answered HTTP ${reply.status}`);
  }

  close(): void {
    this.poster.close();
  }
}
