import { z } from 'zod';

/** How much of a tools/call the audit log keeps: metadata only, plus (redacted) arguments, plus results. */
export const AUDIT_LEVELS = ['metadata', 'arguments', 'results'] as const;
export type AuditLevelName = (typeof AUDIT_LEVELS)[number];

/** closed: a call whose request record cannot be written is refused. open: it goes ahead (and that is audited). */
export const AUDIT_FAIL_MODES = ['closed', 'open'] as const;
export type AuditFailModeName = (typeof AUDIT_FAIL_MODES)[number];

export const AUDIT_SINK_TYPES = ['syslog', 'webhook', 'splunk_hec'] as const;
export type AuditSinkTypeName = (typeof AUDIT_SINK_TYPES)[number];

/** ocsf: OCSF API Activity (class 6003); native: Gatehouse's own record JSON. */
export const AUDIT_SINK_FORMATS = ['ocsf', 'native'] as const;
export type AuditSinkFormatName = (typeof AUDIT_SINK_FORMATS)[number];

/**
 * A JSON path into tools/call arguments whose value is redacted, besides the keys redacted everywhere
 * (password, token, secret, authorization, api_key…): `$.customer.ssn`, `$.items[*].card`, `$..pin`.
 */
export const REDACT_PATH_PATTERN = /^\$(\.\.?[A-Za-z_][A-Za-z0-9_-]*|\[\*\]|\.\*)+$/;

export const auditSettingsSchema = z
  .object({
    level: z.enum(AUDIT_LEVELS).default('arguments'),
    failMode: z.enum(AUDIT_FAIL_MODES).default('closed'),
    // Records older than this are removed (after a checkpoint of the chain head); absent: kept for ever.
    retentionDays: z.number().int().min(1).max(36_500).optional(),
    redactPaths: z
      .array(z.string().regex(REDACT_PATH_PATTERN, 'must be a JSON path like $.customer.ssn, $.items[*].card or $..pin'))
      .max(100)
      .default([]),
    // Results (level: results) are cut to this many bytes of JSON.
    resultMaxBytes: z.number().int().min(256).max(1_048_576).default(8192),
  })
  .strict();

export type AuditSettingsSpec = z.infer<typeof auditSettingsSchema>;

export const AUDIT_SINK_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Events per delivery (one syslog write, one HEC request, one webhook POST). */
export const auditSinkBatchSize = z.number().int().min(1).max(1000);

const commonSinkFields = {
  name: z.string().regex(AUDIT_SINK_NAME_PATTERN, 'must be 1-63 lower-case letters, digits and "-"'),
  format: z.enum(AUDIT_SINK_FORMATS).default('ocsf'),
  enabled: z.boolean().default(true),
  batchSize: auditSinkBatchSize.default(100),
};

// A PEM file of CA certificates trusted besides the public roots (a SIEM behind an internal CA). It names a file
// on the gateway's host: only the config file (deployment level) may point at one, not an organization's admin
// through the API.
const caFile = { caFile: z.string().min(1).optional() };

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http or https URL' });

const syslogSinkFields = {
  ...commonSinkFields,
  type: z.literal('syslog'),
  host: z.string().min(1).max(253),
  port: z.number().int().min(1).max(65_535),
  // RFC 5425 (syslog over TLS) when true; RFC 6587 octet-counted TCP either way.
  tls: z.boolean().default(false),
};

const webhookSinkFields = { ...commonSinkFields, type: z.literal('webhook'), url: httpUrl };

const splunkSinkFields = {
  ...commonSinkFields,
  type: z.literal('splunk_hec'),
  // The collector's base URL (https://splunk.example:8088) or its full event endpoint.
  url: httpUrl,
  index: z.string().min(1).max(200).optional(),
  sourcetype: z.string().min(1).max(200).default('gatehouse:audit'),
};

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

/** A sink in the config file: secrets come from the environment. */
export const fileAuditSinkSchema = z.discriminatedUnion('type', [
  z.object({ ...syslogSinkFields, ...caFile }).strict(),
  z.object({ ...webhookSinkFields, ...caFile, secretEnv: envName }).strict(),
  z.object({ ...splunkSinkFields, ...caFile, tokenEnv: envName }).strict(),
]);

export type FileAuditSinkSpec = z.infer<typeof fileAuditSinkSchema>;

/** A sink through the admin API: the webhook secret or HEC token in the request body (stored encrypted). */
export const apiAuditSinkSchema = z.discriminatedUnion('type', [
  z.object(syslogSinkFields).strict(),
  z.object({ ...webhookSinkFields, secret: z.string().min(16).max(512) }).strict(),
  z.object({ ...splunkSinkFields, token: z.string().min(1).max(512) }).strict(),
]);

export type ApiAuditSinkSpec = z.infer<typeof apiAuditSinkSchema>;

/** A sink as stored: where it delivers (settings) apart from its secret. */
export interface AuditSinkSpec {
  name: string;
  type: AuditSinkTypeName;
  format: AuditSinkFormatName;
  enabled: boolean;
  settings: AuditSinkSettings;
  /** The webhook signing secret or HEC token, in clear (stored encrypted); null for syslog. */
  secret: string | null;
}

export type AuditSinkSettings =
  | { type: 'syslog'; host: string; port: number; tls: boolean; batchSize: number; caFile?: string }
  | { type: 'webhook'; url: string; batchSize: number; caFile?: string }
  | { type: 'splunk_hec'; url: string; index?: string; sourcetype: string; batchSize: number; caFile?: string };

/**
 * The stored form of a sink from the API (its secret in the body) or from the file (its secret in the environment
 * variable it names, read into `environment` when the file was loaded).
 */
export function auditSinkSpec(sink: FileAuditSinkSpec | ApiAuditSinkSpec, environment: ReadonlyMap<string, string> = new Map()): AuditSinkSpec {
  const { name, format, enabled, batchSize } = sink;
  const caFile = 'caFile' in sink ? sink.caFile : undefined;
  const common = { batchSize, ...(caFile === undefined ? {} : { caFile }) };
  const settings: AuditSinkSettings =
    sink.type === 'syslog'
      ? { type: 'syslog', host: sink.host, port: sink.port, tls: sink.tls, ...common }
      : sink.type === 'webhook'
        ? { type: 'webhook', url: sink.url, ...common }
        : { type: 'splunk_hec', url: sink.url, sourcetype: sink.sourcetype, ...(sink.index === undefined ? {} : { index: sink.index }), ...common };
  return { name, type: sink.type, format, enabled, settings, secret: secretOf(sink, environment) };
}

function secretOf(sink: FileAuditSinkSpec | ApiAuditSinkSpec, environment: ReadonlyMap<string, string>): string | null {
  if (sink.type === 'webhook') return 'secret' in sink ? sink.secret : (environment.get(sink.secretEnv) ?? null);
  if (sink.type === 'splunk_hec') return 'token' in sink ? sink.token : (environment.get(sink.tokenEnv) ?? null);
  return null;
}
