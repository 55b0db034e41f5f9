import { FuzzRequest } from './fuzz-doors';
import { RawReply } from './raw-http';

// What every answer of a public door must be, whatever was sent: never a 5xx, and an error a client can read in
// the form its door speaks (problem JSON, a JSON-RPC error, an OAuth error, an HTML page), without a stack trace.

type ErrorForm = 'problem' | 'json-rpc' | 'oauth' | 'page';

const STACK_TRACE = /\n\s+at \S|\bat \S+ \(\S+:\d+:\d+\)|\.(?:ts|js|mjs):\d+:\d+/;

// Methods Node parses; it refuses any other before a route is known, and says so in problem JSON.
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

// The form a route's errors must take; other methods and paths there may answer in any of the forms.
function expectedForm(method: string, rawPath: string): ErrorForm | null {
  if (!HTTP_METHODS.has(method)) return null;
  const path = rawPath.split('?')[0]!;
  if (path === '/mcp') return 'json-rpc';
  if (method === 'POST' && ['/oauth/token', '/oauth/register', '/oauth/revoke'].includes(path)) return 'oauth';
  if ((method === 'GET' || method === 'POST') && path === '/oauth/authorize') return 'page';
  if (method === 'GET' && (path === '/oauth/continue' || path.startsWith('/oauth/sso/'))) return 'page';
  if (method === 'POST' && ['/oauth/sign-in', '/oauth/consent', '/oauth/organization'].includes(path)) return 'page';
  if (path.startsWith('/api/v1/') || path.startsWith('/.well-known/')) return 'problem';
  return null;
}

function formOf(reply: RawReply): ErrorForm | null {
  const type = String(reply.headers['content-type'] ?? '');
  if (type.startsWith('text/html')) return /<html[\s>]/i.test(reply.body) ? 'page' : null;
  let body: unknown;
  try {
    body = JSON.parse(reply.body);
  } catch {
    return null;
  }
  const object = (value: unknown): Record<string, unknown> | null => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null);
  const parsed = object(body);
  if (type.startsWith('application/problem+json')) {
    return parsed && typeof parsed['title'] === 'string' && parsed['status'] === reply.status && typeof parsed['detail'] === 'string' && parsed['detail'] !== '' ? 'problem' : null;
  }
  if (!type.startsWith('application/json') || !parsed) return null;
  const rpcError = object(parsed['error']);
  if (parsed['jsonrpc'] === '2.0' && rpcError && Number.isInteger(rpcError['code']) && typeof rpcError['message'] === 'string') return 'json-rpc';
  if (typeof parsed['error'] === 'string' && /^[a-z_]+$/.test(parsed['error']) && ['undefined', 'string'].includes(typeof parsed['error_description'])) return 'oauth';
  return null;
}

/** Why this answer is unacceptable, or null when it is fine. */
export function problemWith(request: FuzzRequest, reply: RawReply): string | null {
  if (reply.status >= 500) return `answered ${reply.status}`;
  if (reply.status < 400 || request.method === 'HEAD') return null;
  if (STACK_TRACE.test(reply.body)) return `answered ${reply.status} with what looks like a stack trace`;
  const form = formOf(reply);
  if (!form) return `answered ${reply.status} with an error body that is none of problem JSON, a JSON-RPC error, an OAuth error or an HTML page`;
  const expected = expectedForm(request.method, request.path);
  if (expected && form !== expected) return `answered ${reply.status} with ${form} where this door answers errors as ${expected}`;
  return null;
}

/** One line a person can replay: the request as sent (bodies shortened) and what came back. */
export function describe(request: FuzzRequest, outcome: RawReply | Error): string {
  const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text);
  const sent = `${request.method} ${clip(request.path, 300)} ${JSON.stringify(request.headers)}${request.body !== undefined ? ` body=${clip(JSON.stringify(String(request.body)), 400)}` : ''}`;
  const got = outcome instanceof Error ? `error: ${outcome.message}` : `${outcome.status} ${outcome.headers['content-type'] ?? ''} ${clip(JSON.stringify(outcome.body), 300)}`;
  return `[${request.door}] ${sent}\n    → ${got}`;
}
