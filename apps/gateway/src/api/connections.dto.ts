import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { TOOL_CLASSES, TRANSPORTS } from '@gatehouse/config';
import { nullableText } from './schema-parts';

// Response bodies of /api/v1/connections (ConnectionView, ConnectionHealth, GovernedTool, ConnectionTestResult).
// The serializer strips what is not declared here, so every field the dashboard reads is listed.


const connectionSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  transport: z.enum(TRANSPORTS),
  url: nullableText().describe("Admins: the URL as stored; others: its origin"),
  origin: nullableText().describe('Scheme, host and port of the URL'),
  command: nullableText(),
  args: z.array(z.string()),
  cwd: nullableText(),
  env: z.record(z.string(), z.string()).describe('Names only: every value reads "***"'),
  headers: z.record(z.string(), z.string()).describe('Names only: every value reads "***"'),
  callTimeoutMs: z.number().int(),
  connectTimeoutMs: z.number().int(),
  maxConcurrency: z.number().int(),
  callDeadlineMs: z.number().int(),
  maxReplyBytes: z.number().int(),
  maxSseEventBytes: z.number().int(),
  maxStderrLineBytes: z.number().int(),
  enabled: z.boolean(),
  configManaged: z.boolean().describe('Managed by the config file: change it there'),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});

const serverSchema = z.object({ name: z.string(), version: z.string() }).nullable();

const healthSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  transport: z.enum(TRANSPORTS),
  enabled: z.boolean(),
  status: z.enum(['connected', 'connecting', 'down', 'disabled', 'not_running']),
  healthy: z.boolean(),
  lastError: nullableText(),
  toolCount: z.number().int(),
  toolsStale: z.boolean(),
  toolListError: nullableText(),
  rejectedTools: z.array(z.string()),
  heldBackTools: z.number().int().describe('Tools awaiting review (GET /api/v1/connections/{id}/tool-changes)'),
  lastToolRefreshAt: z.iso.datetime().nullable(),
  connectedAt: z.iso.datetime().nullable(),
  restarts: z.number().int(),
  pid: z.number().int().nullable(),
  server: serverSchema,
  protocolVersion: nullableText().describe('The MCP protocol version negotiated with the downstream; null while not connected'),
  inFlight: z.number().int(),
  queued: z.number().int(),
});

const jsonObject = z.record(z.string(), z.unknown());

const toolSchema = z.object({
  name: z.string().describe('The exposed name'),
  downstreamName: z.string(),
  title: nullableText(),
  description: nullableText(),
  inputSchema: jsonObject,
  outputSchema: jsonObject.nullable(),
  annotations: jsonObject.nullable(),
  hash: z.string(),
  classes: z.array(z.enum(TOOL_CLASSES)).describe("The organization's tool-class overrides, else the server's annotations"),
  perCallMicros: z.number().int().describe('Price of one call in millionths of a US dollar (0: none)'),
  pin: z.enum(['accepted', 'new', 'changed']).describe('new / changed: held back until an admin accepts it'),
});

const testResultSchema = z.object({
  ok: z.boolean(),
  latencyMs: z.number().int(),
  server: serverSchema,
  protocolVersion: nullableText(),
  toolCount: z.number().int(),
  tools: z.array(z.string()),
  error: nullableText(),
});

export class ConnectionDto extends createZodDto(connectionSchema) {}
export class ConnectionHealthDto extends createZodDto(healthSchema) {}
export class ConnectionToolDto extends createZodDto(toolSchema) {}
export class ConnectionTestResultDto extends createZodDto(testResultSchema) {}
