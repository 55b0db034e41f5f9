import { createZodDto } from 'nestjs-zod';
import { auditExportQuerySchema, auditListQuerySchema } from '@gatehouse/audit';

export class AuditListQueryDto extends createZodDto(auditListQuerySchema) {}
export class AuditExportQueryDto extends createZodDto(auditExportQuerySchema) {}
