import { z } from 'zod';
import { CONNECTION_NAME_PATTERN, RESERVED_CONNECTION_NAMES, TAG_PATTERN } from './naming';

export const tagSchema = z.string().regex(TAG_PATTERN, 'must be 1-32 characters of lower-case letters, digits and "-"');

export const TRANSPORTS = ['stdio', 'http', 'sse'] as const;
export type TransportKind = (typeof TRANSPORTS)[number];

export const connectionNameSchema = z
  .string()
  .regex(
    CONNECTION_NAME_PATTERN,
    'must be 1-32 characters of lower-case letters, digits and "-", starting with a letter or digit (no "_")',
  )
  .refine((name) => !RESERVED_CONNECTION_NAMES.has(name), { message: 'is reserved for Gatehouse itself' });

const stringMap = z.record(z.string().min(1), z.string());

const KIB = 1024;
const MIB = 1024 * KIB;
// Without callDeadlineMs, a call gets five minutes, or its idle timeout if that is longer.
export const DEFAULT_CALL_DEADLINE_MS = 300_000;

// One definition of a downstream connection, shared by the config file, the admin API and the
// gatehouse_create_connection tool so that all three accept exactly the same thing.
export const connectionSpecSchema = z
  .object({
    name: connectionNameSchema,
    transport: z.enum(TRANSPORTS),
    url: z.url({ protocol: /^https?$/ }).optional().describe('Endpoint of an http or sse connection'),
    command: z.string().min(1).optional().describe('Executable of a stdio connection'),
    args: z.array(z.string()).default([]),
    cwd: z.string().min(1).optional(),
    env: stringMap.default({}).describe('Environment of a stdio server; stored encrypted'),
    headers: stringMap.default({}).describe('HTTP headers sent downstream; stored encrypted'),
    callTimeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
    connectTimeoutMs: z.number().int().min(100).max(300_000).default(15_000),
    maxConcurrency: z.number().int().min(1).max(1024).default(32),
    // What a downstream may send, counted as it arrives: it is not trusted with the gateway's memory or time.
    callDeadlineMs: z
      .number()
      .int()
      .min(100)
      .max(86_400_000)
      .optional()
      .describe('Hard limit on a whole call, which progress notifications cannot extend; at least callTimeoutMs'),
    maxReplyBytes: z.number().int().min(KIB).max(256 * MIB).default(16 * MIB).describe('Largest JSON-RPC message from the server'),
    maxSseEventBytes: z.number().int().min(KIB).max(256 * MIB).default(16 * MIB).describe('Largest server-sent event (http, sse)'),
    maxStderrLineBytes: z.number().int().min(256).max(MIB).default(4 * KIB).describe('Longest stderr line logged (stdio); the rest is cut'),
    // Labels that endpoints select connections by (endpoint selection.tags).
    tags: z.array(tagSchema).max(50).default([]),
    enabled: z.boolean().default(true),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if (spec.callDeadlineMs !== undefined && spec.callDeadlineMs < spec.callTimeoutMs) {
      ctx.addIssue({ code: 'custom', path: ['callDeadlineMs'], message: `must be at least callTimeoutMs (${spec.callTimeoutMs})` });
    }
    if (spec.transport === 'stdio') {
      if (!spec.command) ctx.addIssue({ code: 'custom', path: ['command'], message: 'is required for stdio' });
      if (spec.url) ctx.addIssue({ code: 'custom', path: ['url'], message: 'is only for http and sse' });
    } else {
      if (!spec.url) ctx.addIssue({ code: 'custom', path: ['url'], message: `is required for ${spec.transport}` });
      if (spec.command) ctx.addIssue({ code: 'custom', path: ['command'], message: 'is only for stdio' });
    }
  })
  .transform(({ callDeadlineMs, ...spec }) => ({
    ...spec,
    callDeadlineMs: callDeadlineMs ?? Math.max(DEFAULT_CALL_DEADLINE_MS, spec.callTimeoutMs),
  }));

export type ConnectionSpec = z.infer<typeof connectionSpecSchema>;
export type ConnectionSpecInput = z.input<typeof connectionSpecSchema>;
