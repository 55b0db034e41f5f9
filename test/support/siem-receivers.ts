import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// Receivers a SIEM would run, written from the specifications rather than from Gatehouse's code, so a test
// checks what Gatehouse sends against the standard.

interface Started {
  server: Server;
  baseUrl: string;
  stop(): Promise<void>;
}

async function listen(handler: (path: string, headers: IncomingHttpHeaders, body: string) => { status: number; body?: string }): Promise<Started> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const reply = handler(req.url ?? '/', req.headers, Buffer.concat(chunks).toString('utf8'));
    res.writeHead(reply.status, { 'Content-Type': 'application/json' }).end(reply.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    // Closes the keep-alive connections the senders hold too.
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Standard Webhooks verification: any `v1,<sig>` of the header matching HMAC-SHA256 over `id.timestamp.body`, fresh timestamp. */
export function verifyStandardWebhook(secret: string, headers: IncomingHttpHeaders, body: string, toleranceSeconds = 300): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false;
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',');
    if (version !== 'v1' || !signature) return false;
    const given = Buffer.from(signature, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

export interface WebhookPost {
  path: string;
  id: string;
  body: string;
  verified: boolean;
  status: number;
}

export interface WebhookReceiver extends Started {
  posts: WebhookPost[];
  /** Event ids of the accepted (verified, 2xx) batches, per path. */
  eventIds(path: string): string[];
}

/**
 * Verifies every POST against the secret of its path (401 when it does not verify), answers the first
 * `failFirst[path]` verified ones of a path with 500, then 204.
 */
export async function startWebhookReceiver(secrets: Record<string, string>, options: { failFirst?: Record<string, number> } = {}): Promise<WebhookReceiver> {
  const posts: WebhookPost[] = [];
  const failures = new Map<string, number>();
  const started = await listen((path, headers, body) => {
    const secret = secrets[path];
    const verified = secret !== undefined && verifyStandardWebhook(secret, headers, body);
    let status = verified ? 204 : 401;
    if (verified && (failures.get(path) ?? 0) < (options.failFirst?.[path] ?? 0)) {
      failures.set(path, (failures.get(path) ?? 0) + 1);
      status = 500;
    }
    posts.push({ path, id: String(headers['webhook-id']), body, verified, status });
    return { status };
  });
  const eventIds = (path: string) =>
    posts
      .filter((post) => post.path === path && post.status === 204)
      .flatMap((post) => (JSON.parse(post.body) as { events: Record<string, unknown>[] }).events.map(eventIdOf));
  return { ...started, posts, eventIds };
}

/** The event id of a native event (eventId) or an OCSF one (metadata.uid). */
export function eventIdOf(event: Record<string, unknown>): string {
  const metadata = event['metadata'] as { uid?: string } | undefined;
  return (event['eventId'] as string | undefined) ?? metadata?.uid ?? '';
}

export interface HecEvent {
  time: number;
  host: string;
  source: string;
  sourcetype: string;
  index?: string;
  event: Record<string, unknown>;
}

export interface HecRequest {
  path: string;
  authorization: string | undefined;
  body: string;
  status: number;
  events: HecEvent[];
}

export interface HecReceiver extends Started {
  requests: HecRequest[];
  events(): HecEvent[];
}

// HEC bodies are JSON objects one after another (whitespace between them optional): read them one by one.
export function parseConcatenatedJson(body: string): unknown[] {
  const values: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && --depth === 0) values.push(JSON.parse(body.slice(start, i + 1)));
  }
  if (depth !== 0) throw new Error('unterminated JSON object');
  return values;
}

/** A Splunk HTTP Event Collector stand-in on /services/collector/event: `Authorization: Splunk <token>`, HEC's replies. */
export async function startHecReceiver(token: string): Promise<HecReceiver> {
  const requests: HecRequest[] = [];
  const started = await listen((path, headers, body) => {
    const record = (status: number, reply: { text: string; code: number }, events: HecEvent[] = []) => {
      requests.push({ path, authorization: headers.authorization, body, status, events });
      return { status, body: JSON.stringify(reply) };
    };
    if (path !== '/services/collector/event') return record(404, { text: 'Not found', code: 404 });
    if (!headers.authorization) return record(401, { text: 'Token is required', code: 2 });
    if (headers.authorization !== `Splunk ${token}`) return record(403, { text: 'Invalid token', code: 4 });
    let events: HecEvent[];
    try {
      events = parseConcatenatedJson(body) as HecEvent[];
    } catch {
      return record(400, { text: 'Invalid data format', code: 6 });
    }
    const wellFormed = events.length > 0 && events.every((e) => typeof e.time === 'number' && typeof e.host === 'string' && e.source === 'gatehouse' && typeof e.sourcetype === 'string' && typeof e.event === 'object');
    if (!wellFormed) return record(400, { text: 'Event field is required', code: 12 });
    return record(200, { text: 'Success', code: 0 }, events);
  });
  return { ...started, requests, events: () => requests.filter((r) => r.status === 200).flatMap((r) => r.events) };
}
