import { octetCounted, syslogMessage } from './syslog-message';
import { hecEndpoint } from './splunk-hec.transport';
import { standardWebhookSignature } from './webhook.transport';
import { asciiJson, SinkEvent } from '../sink-event';
import { retryDelayMs } from '../audit-sink.job';

const event = (over: Partial<SinkEvent> = {}): SinkEvent => ({
  eventId: '6f1c2f5e-4c1e-4a59-9d1e-0c7b1f3f9a10',
  seq: 7n,
  occurredAt: new Date('2026-11-30T04:44:31.123Z'),
  kind: 'tools.call.request',
  outcome: 'success',
  json: '{"a":1}',
  ...over,
});

describe('syslog framing', () => {
  it('writes an RFC 5424 message: facility log audit, severity from the outcome, kind as MSGID, JSON as MSG', () => {
    expect(syslogMessage(event(), 42)).toMatch(/^<110>1 2026-11-30T04:44:31\.123Z \S+ gatehouse 42 tools\.call\.request - \{"a":1\}$/);
    expect(syslogMessage(event({ outcome: 'denied' }), 42)).toMatch(/^<108>1 /);
    expect(syslogMessage(event({ outcome: 'pending' }), 42)).toMatch(/^<109>1 /);
  });

  it('keeps MSGID to 32 printable ASCII characters', () => {
    const msgid = syslogMessage(event({ kind: 'a very long kind with spaces.and.more.words.than.fit' }), 1).split(' ')[5]!;
    expect(msgid).toBe('averylongkindwithspaces.and.more');
  });

  it('counts octets, not characters (RFC 6587)', () => {
    expect(octetCounted('é').toString('latin1')).toBe('2 \xc3\xa9');
  });

  it('escapes non-ASCII in the JSON so MSG needs no BOM', () => {
    const json = asciiJson({ name: 'Zoë 🦊' });
    expect(json).toBe('{"name":"Zo\\u00eb \\ud83e\\udd8a"}');
    expect(JSON.parse(json)).toEqual({ name: 'Zoë 🦊' });
  });
});

describe('Standard Webhooks signature', () => {
  it('matches the specification test vector', () => {
    expect(standardWebhookSignature('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it('uses a secret without the whsec_ prefix as its UTF-8 bytes', () => {
    const raw = standardWebhookSignature('plain-secret-of-16+', 'id', 1, 'b');
    const prefixed = standardWebhookSignature(`whsec_${Buffer.from('plain-secret-of-16+').toString('base64')}`, 'id', 1, 'b');
    expect(raw).toBe(prefixed);
  });
});

describe('Splunk HEC endpoint', () => {
  it('adds the event path to a base URL and keeps a full one', () => {
    expect(hecEndpoint('https://splunk.example:8088').href).toBe('https://splunk.example:8088/services/collector/event');
    expect(hecEndpoint('https://splunk.example:8088/custom/hec').href).toBe('https://splunk.example:8088/custom/hec');
  });
});

describe('retry backoff', () => {
  it('doubles from 1 s and stops at 60 s', () => {
    expect([1, 2, 3, 4, 7, 8, 20].map(retryDelayMs)).toEqual([1000, 2000, 4000, 8000, 60000, 60000, 60000]);
  });
});
