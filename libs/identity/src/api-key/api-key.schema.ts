import { z } from 'zod';
import { apiKeyAccessSchema, roleSchema } from '@gatehouse/config';

export const createApiKeySchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    role: roleSchema.default('member'),
    access: apiKeyAccessSchema.default('read_write'),
  })
  .strict();

export type CreateApiKeyInput = z.infer<typeof createApiKeySchema>;
