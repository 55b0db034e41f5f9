import { isIP } from 'node:net';
import { z } from 'zod';

// The deployment operator's section of the config file: what the host and the network trust, and what every
// organization may do. Organization admins can change nothing here (DESIGN.md, trust boundaries).

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DOMAIN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
const HOST_NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Whether `entry` is an IP address or a CIDR block (IPv4 or IPv6). */
function isAddressOrCidr(entry: string): boolean {
  const [address, bits, extra] = entry.split('/');
  if (extra !== undefined || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * An egress allowlist entry: an IP address, a CIDR block, a host name, or `*.` and a domain (any name below it).
 * A name is allowed whatever it resolves to (internal DNS); an address or block, whichever name led to it.
 */
export const egressAllowEntrySchema = z
  .string()
  .trim()
  .toLowerCase()
  .transform((entry) => entry.replace(/^\[(.*)\]$/, '$1'))
  .refine((entry) => isAddressOrCidr(entry) || HOST_NAME.test(entry), {
    message: 'must be an IP address, a CIDR block (10.0.0.0/8), a host name or *.domain',
  });

/** One command organization admins may run as a stdio connection, with the arguments it may take. */
export const stdioCommandSchema = z
  .object({
    // The executable exactly as a connection names it (`command`); an absolute path is safest.
    command: z.string().min(1).max(1000),
    // One glob per argument, in order ("*" any run of characters, "?" one); the count must match exactly.
    args: z.array(z.string().max(1000)).max(64).default([]),
    // Environment variables an admin may set for it (credentials); any other is refused.
    env: z.array(z.string().regex(ENV_NAME, 'must be an environment variable name')).max(64).default([]),
    description: z.string().max(500).optional(),
  })
  .strict();

const rateSchema = z
  .object({
    requests: z.number().int().min(1).max(1_000_000),
    windowSeconds: z.number().int().min(1).max(86_400),
  })
  .strict();

/** Per-credential and per-organization bounds on what one caller can hold or send. */
export const platformLimitsSchema = z
  .object({
    // Open MCP sessions (each holds a server object and a stream) in one gateway process.
    sessionsPerCredential: z.number().int().min(1).max(100_000).default(32),
    sessionsPerOrganization: z.number().int().min(1).max(1_000_000).default(1_000),
    // tools/call requests running at once in one gateway process.
    inFlightCallsPerCredential: z.number().int().min(1).max(100_000).default(32),
    inFlightCallsPerOrganization: z.number().int().min(1).max(1_000_000).default(256),
    // Counted in Redis, across replicas.
    toolCallsPerCredential: rateSchema.default({ requests: 6_000, windowSeconds: 60 }),
    toolCallsPerOrganization: rateSchema.default({ requests: 60_000, windowSeconds: 60 }),
    apiRequestsPerCredential: rateSchema.default({ requests: 600, windowSeconds: 60 }),
    // tools/call arguments larger than this (JSON bytes) are kept in the audit log truncated, with their hash.
    auditArgumentsMaxBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(64 * 1024),
  })
  .strict();

const platformOrganizationSchema = z
  .object({
    slug: z.string().min(1),
    // Email domains the operator verified this organization owns: its identity provider may then sign those
    // people in to their other organizations too, not only this one.
    verifiedDomains: z.array(z.string().trim().toLowerCase().regex(DOMAIN, 'must be a domain such as acme.test')).default([]),
  })
  .strict();

export const platformSchema = z
  .object({
    // Deployment operators, by email: people trusted with the deployment, not with any one organization.
    operators: z.array(z.email().transform((email) => email.toLowerCase())).default([]),
    egress: z
      .object({ allow: z.array(egressAllowEntrySchema).max(1000).default([]) })
      .strict()
      .default({ allow: [] }),
    stdio: z
      .object({ commands: z.array(stdioCommandSchema).max(200).default([]) })
      .strict()
      .default({ commands: [] }),
    limits: platformLimitsSchema.default(platformLimitsSchema.parse({})),
    organizations: z.array(platformOrganizationSchema).default([]),
  })
  .strict();

export type PlatformSpec = z.infer<typeof platformSchema>;
export type PlatformLimits = z.infer<typeof platformLimitsSchema>;
export type StdioCommandSpec = z.infer<typeof stdioCommandSchema>;
export type RateSpec = z.infer<typeof rateSchema>;
