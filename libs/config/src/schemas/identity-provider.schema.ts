import { z } from 'zod';
import { LOOPBACK_HOSTS } from './redirect-uri';
import { roleSchema } from './roles';

// An issuer must be https; plain http only on loopback (a development or test identity provider). Zod runs the
// refinement even on a value that failed z.url(), so it must not assume the value parses.
const issuerSchema = z.url().refine((value) => {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
}, 'must be an https URL (http only for a loopback address)');

/** An organization's OIDC identity provider, without its secret (the config file and the API carry that differently). */
export const identityProviderFields = {
  issuer: issuerSchema,
  clientId: z.string().min(1).max(500),
  // Sign-in is refused for any other email domain; at least one, so a guest account at the provider cannot walk in.
  allowedDomains: z
    .array(z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'must be a domain such as acme.test').transform((d) => d.toLowerCase()))
    .min(1),
  groupsClaim: z.string().min(1).max(200).default('groups'),
  roleMap: z.record(z.string(), roleSchema).default({}),
  defaultRole: roleSchema.default('member'),
};
