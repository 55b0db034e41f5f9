import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { roleSchema } from '@gatehouse/config';
import { addMemberSchema } from '@gatehouse/identity';
import { memberSchema } from './api.dto';
import { nullableText, timestamp } from './schema-parts';

// People and how they sign in: adding a member, the organization's identity provider.

export class AddMemberDto extends createZodDto(addMemberSchema) {}

const signInSchema = z
  .object({
    method: z
      .enum(['identity_provider', 'password', 'set_password_link'])
      .describe("identity_provider: the organization's provider accepts their email's domain; password: they already have one; set_password_link: pass the link on"),
    setPasswordUrl: z.url().optional().describe('A one-time link to choose a password; shown only in this response'),
    expiresAt: timestamp.optional().describe('When the link stops working'),
  })
  .describe('How the new member signs in');

export class AddedMemberDto extends createZodDto(z.object({ member: memberSchema, signIn: signInSchema }), { codec: true }) {}

// The client secret is write-only: only whether one is set is ever shown.
export class IdentityProviderViewDto extends createZodDto(
  z.object({
    issuer: z.string(),
    clientId: z.string(),
    clientSecretSet: z.boolean().describe('A client secret is stored; it is never returned'),
    allowedDomains: z.array(z.string()),
    // See connections.dto.ts: a bare nullable string is published as an array.
    groupsClaim: nullableText(),
    roleMap: z.record(z.string(), roleSchema).describe('Group → role'),
    defaultRole: roleSchema,
    callbackUrl: z.string().describe('The redirect URI to register at the provider'),
    configManaged: z.boolean().describe('Managed by the config file: change it there'),
  }),
) {}
