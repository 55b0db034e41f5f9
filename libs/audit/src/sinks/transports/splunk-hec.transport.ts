import { hostname } from 'node:os';
import type { AuditSinkSettings } from '@gatehouse/config';
import type { SinkBatch } from '../sink-event';
import { HttpPoster } from './http-post';
import { SinkTransport, TransportContext } from './sink-transport';

type SplunkSettings = Extract<AuditSinkSettings, { type: 'splunk_hec' }>;

const EVENT_PATH = '/services/collector/event';
const HOST = hostname();

/** The collector's base URL gets the event endpoint's path; a URL with a path is used as it is. */
export function hecEndpoint(url: string): URL {
  const parsed = new URL(url);
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = EVENT_PATH;
  return parsed;
}

/** Splunk HTTP Event Collector: one POST of concatenated event objects; accepted only on 200 with {"code":0}. */
export class SplunkHecTransport implements SinkTransport {
  private readonly poster: HttpPoster;

  constructor(
    private readonly settings: SplunkSettings,
    private readonly context: TransportContext,
  ) {
    this.poster = new HttpPoster(hecEndpoint(settings.url), settings.caFile, context.egress);
  }

  async send(batch: SinkBatch): Promise<void> {
    const token = this.context.secret;
    if (!token) throw new Error('Splunk HEC sink has no token');
    const { sourcetype, index } = this.settings;
    const body = batch.events
      .map((event) => {
        // The envelope without its closing brace, then the event's JSON as it was serialized once.
        const envelope = JSON.stringify({ time: event.occurredAt.getTime() / 1000, host: HOST, source: 'gatehouse', sourcetype, ...(index ? { index } : {}) });
        return `${envelope.slice(0, -1)},"event":${event.json}}`;
      })
      .join('\n');
    const reply = await this.poster.post({ Authorization: `Splunk ${token}`, 'User-Agent': 'Gatehouse-Audit/1' }, body);
    const answer = parseReply(reply.body);
    if (reply.status === 200 && answer?.code === 0) return;
    // Only HEC's numeric code: the receiver's own words are not shown back (an admin chooses the URL).
    throw new Error(`Splunk HEC answered HTTP ${reply.status}${typeof answer?.code === 'number' ? ` (code ${answer.code})` : ''}`);
  }

  close(): void {
    this.poster.close();
  }
}

function parseReply(body: string): { code?: unknown } | null {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? (parsed as { code?: unknown }) : null;
  } catch {
    return null;
  }
}
