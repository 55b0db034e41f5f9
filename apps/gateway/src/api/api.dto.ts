import { createZodDto } from 'nestjs-zod';
import { createConnectionSchema } from '@gatehouse/connections';
import { createApiKeySchema, identityProviderInputSchema } from '@gatehouse/identity';

export class CreateConnectionDto extends createZodDto(createConnectionSchema) {}
export class CreateApiKeyDto extends createZodDto(createApiKeySchema) {}
export class IdentityProviderDto extends createZodDto(identityProviderInputSchema) {}
