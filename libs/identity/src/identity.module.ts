import { Global, Module } from '@nestjs/common';
import { ApiKeyService } from './api-key/api-key.service';
import { AbilityFactory } from './auth/ability.factory';
import { BearerAuthGuard } from './auth/bearer-auth.guard';

@Global()
@Module({
  providers: [ApiKeyService, AbilityFactory, BearerAuthGuard],
  exports: [ApiKeyService, AbilityFactory, BearerAuthGuard],
})
export class IdentityModule {}
