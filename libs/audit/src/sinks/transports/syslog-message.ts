import { hostname } from 'node:os';
import { NOTABLE_OUTCOMES, SUCCESS_OUTCOMES } from '../../ocsf/ocsf';
import type { SinkEvent } from '../sink-event';

// RFC 5424 §6.2.1: facility 13 is "log audit".
const FACILITY_LOG_AUDIT = 13;
const SEVERITY = { warning: 4, notice: 5, informational: 6 } as const;
const WARNINGS = new Set([...NOTABLE_OUTCOMES, 'error']);

function severityOf(outcome: string | null): number {
  if (outcome === null || SUCCESS_OUTCOMES.has(outcome)) return SEVERITY.informational;
  return WARNINGS.has(outcome) ? SEVERITY.warning : SEVERITY.notice;
}

// HOSTNAME, APP-NAME, PROCID and MSGID are PRINTUSASCII (33-126) with a length limit, or "-" (RFC 5424 §6.2).
function headerField(value: string, max: number): string {
  const printable = value.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return printable === '' ? '-' : printable;
}

const HOST = headerField(hostname(), 255);

/** `<PRI>1 TIMESTAMP HOSTNAME gatehouse PROCID MSGID - MSG`: no structured data; MSG is the event's JSON. */
export function syslogMessage(event: SinkEvent, pid: number = process.pid): string {
  const pri = FACILITY_LOG_AUDIT * 8 + severityOf(event.outcome);
  return `<${pri}>1 ${event.occurredAt.toISOString()} ${HOST} gatehouse ${pid} ${headerField(event.kind, 32)} - ${event.json}`;
}

/** RFC 6587 §3.4.1 octet counting: `MSG-LEN SP SYSLOG-MSG`, the length in bytes. */
export function octetCounted(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
