import { z } from 'zod';
import { AUDIT_SINK_FORMATS } from '@gatehouse/config';

/** PATCH: switch a sink on or off, or change its format or batch size; PUT replaces the whole sink. */
export const auditSinkPatchSchema = z
  .object({
    enabled: z.boolean().optional(),
    format: z.enum(AUDIT_SINK_FORMATS).optional(),
    batchSize: z.number().int().min(1).max(1000).optional(),
  })
  .strict();

export type AuditSinkPatch = z.infer<typeof auditSinkPatchSchema>;
