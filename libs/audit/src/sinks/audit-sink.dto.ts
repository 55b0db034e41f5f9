import { z } from 'zod';
import { AUDIT_SINK_FORMATS, auditSinkBatchSize } from '@gatehouse/config';

/** PATCH: switch a sink on or off, or change its format or batch size; PUT replaces the whole sink. */
export const auditSinkPatchSchema = z
  .object({
    enabled: z.boolean().optional(),
    format: z.enum(AUDIT_SINK_FORMATS).optional(),
    batchSize: auditSinkBatchSize.optional(),
  })
  .strict();

export type AuditSinkPatch = z.infer<typeof auditSinkPatchSchema>;
