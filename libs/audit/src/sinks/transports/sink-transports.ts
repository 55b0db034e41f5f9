import { createHash } from 'node:crypto';
import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { AuditSinkTarget } from '@gatehouse/db';
import { EgressPolicy } from '@gatehouse/egress';
import { SinkTransport, TransportContext } from './sink-transport';
import { SplunkHecTransport } from './splunk-hec.transport';
import { SyslogTransport } from './syslog.transport';
import { WebhookTransport } from './webhook.transport';

interface Entry {
  fingerprint: string;
  transport: SinkTransport;
}

// One transport per sink in this process, kept between runs (a syslog connection persists); replaced when the
// sink's settings or secret change.
@Injectable()
export class SinkTransports implements OnApplicationShutdown {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly egress: EgressPolicy) {}

  for(sink: AuditSinkTarget, onDoubt: (afterSeq: bigint) => void): SinkTransport {
    const fingerprint = createHash('sha256').update(JSON.stringify([sink.type, sink.settings, sink.secret])).digest('hex');
    const existing = this.entries.get(sink.id);
    if (existing?.fingerprint === fingerprint) return existing.transport;
    existing?.transport.close();
    const context: TransportContext = { sinkId: sink.id, secret: sink.secret, egress: this.egress, onDoubt };
    const settings = sink.settings;
    const transport =
      settings.type === 'syslog'
        ? new SyslogTransport(settings, context)
        : settings.type === 'webhook'
          ? new WebhookTransport(settings, context)
          : new SplunkHecTransport(settings, context);
    this.entries.set(sink.id, { fingerprint, transport });
    return transport;
  }

  /** After a failure: the next attempt starts from a fresh connection. */
  drop(sinkId: string): void {
    this.entries.get(sinkId)?.transport.close();
    this.entries.delete(sinkId);
  }

  onApplicationShutdown(): void {
    for (const { transport } of this.entries.values()) transport.close();
    this.entries.clear();
  }
}
