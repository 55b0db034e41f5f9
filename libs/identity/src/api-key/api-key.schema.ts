import { z } from 'zod';
import { apiKeyAccessSchema, roleSchema } from '@gatehouse/config';

export const createApiKeySchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    role: roleSchema.default('member'),
    access: apiKeyAccessSchema.default('read_write'),
    expiresAt: z.iso
      .datetime({ offset: true })
      .transform((text) => new Date(text))
      .optional()
      .describe('After this instant (ISO 8601) the key no longer authenticates'),
  })
  .strict();

export type CreateApiKeyInput = z.infer<typeof createApiKeySchema>;
