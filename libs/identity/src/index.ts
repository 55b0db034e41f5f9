export * from './api-key/api-key.schema';
export * from './api-key/api-key.service';
export * from './auth/ability.factory';
export * from './auth/authorize.decorator';
export * from './auth/bearer-auth.guard';
export * from './auth/principal';
export * from './identity.module';
