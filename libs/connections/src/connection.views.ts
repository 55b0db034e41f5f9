import type { TransportKind } from '@gatehouse/config';
import type { ConnectionRecord } from '@gatehouse/db';
import type { ConnectionRuntime } from './runtime/connection-runtime';

const REDACTED = '***';

/**
 * How much of a connection one may see. full: admins, who configure connections (URL and arguments as stored,
 * credentials as names only); summary: everyone else, who need to know what a connection is, not what it holds
 * (URLs and arguments often carry tokens): the URL's origin, nothing of the command line.
 */
export type ConnectionDetail = 'full' | 'summary';

export interface ConnectionView {
  id: string;
  name: string;
  transport: TransportKind;
  url: string | null;
  /** Scheme, host and port of the URL: where it reaches, shown to anyone who may see the connection. */
  origin: string | null;
  command: string | null;
  args: string[];
  cwd: string | null;
  /** Names only: values are credentials and never leave the gateway. */
  env: Record<string, string>;
  headers: Record<string, string>;
  callTimeoutMs: number;
  connectTimeoutMs: number;
  maxConcurrency: number;
  callDeadlineMs: number;
  maxReplyBytes: number;
  maxSseEventBytes: number;
  maxStderrLineBytes: number;
  enabled: boolean;
  configManaged: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface ConnectionHealth {
  id: string;
  name: string;
  transport: TransportKind;
  enabled: boolean;
  status: 'connected' | 'connecting' | 'down' | 'disabled' | 'not_running';
  healthy: boolean;
  lastError: string | null;
  toolCount: number;
  toolsStale: boolean;
  toolListError: string | null;
  rejectedTools: string[];
  /** Tools whose definition changed and awaits an admin's review (GET /api/v1/connections/{id}/tool-changes). */
  heldBackTools: number;
  lastToolRefreshAt: string | null;
  connectedAt: string | null;
  restarts: number;
  pid: number | null;
  server: { name: string; version: string } | null;
  /** The MCP protocol version negotiated with the downstream (e.g. 2025-03-26); null while not connected. */
  protocolVersion: string | null;
  inFlight: number;
  queued: number;
}

function redact(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(values).map((key) => [key, REDACTED]));
}

export function toConnectionView(record: ConnectionRecord, detail: ConnectionDetail = 'full'): ConnectionView {
  const full = detail === 'full';
  return {
    id: record.id,
    name: record.name,
    transport: record.transport,
    url: full ? record.url : record.origin,
    origin: record.origin,
    command: full ? record.command : null,
    args: full ? record.args : [],
    cwd: full ? record.cwd : null,
    env: full ? redact(record.env) : {},
    headers: full ? redact(record.headers) : {},
    callTimeoutMs: record.callTimeoutMs,
    connectTimeoutMs: record.connectTimeoutMs,
    maxConcurrency: record.maxConcurrency,
    callDeadlineMs: record.callDeadlineMs,
    maxReplyBytes: record.maxReplyBytes,
    maxSseEventBytes: record.maxSseEventBytes,
    maxStderrLineBytes: record.maxStderrLineBytes,
    enabled: record.enabled,
    configManaged: record.configManaged,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}

export function toConnectionHealth(record: ConnectionRecord, runtime: ConnectionRuntime | undefined): ConnectionHealth {
  const base = { id: record.id, name: record.name, transport: record.transport, enabled: record.enabled };
  if (!runtime) {
    return {
      ...base,
      status: record.enabled ? 'not_running' : 'disabled',
      healthy: !record.enabled,
      lastError: record.statusMessage,
      toolCount: 0,
      toolsStale: true,
      toolListError: null,
      rejectedTools: [],
      heldBackTools: 0,
      lastToolRefreshAt: null,
      connectedAt: null,
      restarts: 0,
      pid: null,
      server: null,
      protocolVersion: null,
      inFlight: 0,
      queued: 0,
    };
  }
  const snapshot = runtime.client.snapshot;
  const status = snapshot.state === 'closed' ? 'down' : snapshot.state;
  return {
    ...base,
    status,
    healthy: status === 'connected' && !runtime.stale,
    lastError: snapshot.lastError,
    toolCount: runtime.list().length,
    toolsStale: runtime.stale,
    toolListError: runtime.listError,
    rejectedTools: runtime.rejectedTools,
    heldBackTools: runtime.heldBack().length,
    lastToolRefreshAt: runtime.lastRefreshAt?.toISOString() ?? null,
    connectedAt: snapshot.connectedAt?.toISOString() ?? null,
    restarts: snapshot.restarts,
    pid: snapshot.pid,
    server: snapshot.serverInfo ? { name: snapshot.serverInfo.name, version: snapshot.serverInfo.version } : null,
    protocolVersion: snapshot.protocolVersion,
    inFlight: snapshot.inFlight,
    queued: snapshot.queued,
  };
}

/** What an admin change of a connection records: what it makes the gateway run or reach, no credential. */
export const CONNECTION_AUDIT_FIELDS = ['transport', 'origin', 'command', 'args', 'env', 'headers', 'enabled'] as const;
