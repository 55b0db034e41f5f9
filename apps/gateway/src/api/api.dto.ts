import { createZodDto } from 'nestjs-zod';
import { acceptToolChangeSchema, createConnectionSchema } from '@gatehouse/connections';
import { policyInputSchema } from '@gatehouse/governance';
import { createApiKeySchema, identityProviderInputSchema } from '@gatehouse/identity';

export class CreateConnectionDto extends createZodDto(createConnectionSchema) {}
export class CreateApiKeyDto extends createZodDto(createApiKeySchema) {}
export class IdentityProviderDto extends createZodDto(identityProviderInputSchema) {}
export class AcceptToolChangeDto extends createZodDto(acceptToolChangeSchema) {}
export class PolicyDto extends createZodDto(policyInputSchema) {}
