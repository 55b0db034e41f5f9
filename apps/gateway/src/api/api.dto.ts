import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { acceptToolChangeSchema, createConnectionSchema } from '@gatehouse/connections';
import { budgetsInputSchema, costsInputSchema, policyInputSchema, usageQuerySchema } from '@gatehouse/governance';
import { createApiKeySchema, identityProviderInputSchema, updateMemberSchema } from '@gatehouse/identity';

export class CreateConnectionDto extends createZodDto(createConnectionSchema) {}
export class CreateApiKeyDto extends createZodDto(createApiKeySchema) {}
export class UpdateMemberDto extends createZodDto(updateMemberSchema) {}
export class IdentityProviderDto extends createZodDto(identityProviderInputSchema) {}
export class AcceptToolChangeDto extends createZodDto(acceptToolChangeSchema) {}
export class PolicyDto extends createZodDto(policyInputSchema) {}
export class CostsDto extends createZodDto(costsInputSchema) {}
export class BudgetsDto extends createZodDto(budgetsInputSchema) {}
export class UsageQueryDto extends createZodDto(usageQuerySchema) {}
export class ApprovalListQueryDto extends createZodDto(
  z.object({ status: z.enum(['pending', 'approved', 'denied', 'expired', 'executed', 'failed']).optional() }).strict(),
) {}
export class ApproveDto extends createZodDto(z.object({ reason: z.string().max(1000).optional() }).strict()) {}
export class DenyDto extends createZodDto(z.object({ reason: z.string().min(1).max(1000) }).strict()) {}
