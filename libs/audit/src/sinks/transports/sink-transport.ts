import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { EgressPolicy } from '@gatehouse/egress';
import type { SinkBatch } from '../sink-event';

/** One SIEM endpoint. send() resolves only once the receiver took the whole batch, and throws otherwise. */
export interface SinkTransport {
  send(batch: SinkBatch): Promise<void>;
  close(): void;
}

/** The sink's id, for error messages and Standard Webhooks ids; the secret in clear (webhook, HEC). */
export interface TransportContext {
  sinkId: string;
  secret: string | null;
  /** Every connection to the receiver obeys it: an organization's admin chooses where its sinks deliver. */
  egress: EgressPolicy;
  // Called when records already counted as delivered may not have arrived (a syslog connection dropped
  // soon after they were written): the deliverer moves the cursor back to `afterSeq` so they are sent again.
  onDoubt(afterSeq: bigint): void;
}

export const SEND_TIMEOUT_MS = 10_000;

/** TLS options trusting the public roots plus the sink's own CA file, when the config file names one. */
export function trustingCa(caFile: string | undefined): { ca?: string[] } {
  return caFile ? { ca: [...rootCertificates, readFileSync(caFile, 'utf8')] } : {};
}
