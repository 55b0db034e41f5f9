import { Global, Module } from '@nestjs/common';
import { PlatformSettings } from '@gatehouse/config';
import { EgressPolicy } from './egress-policy';

// The deployment's one egress policy, for every library that sends requests out.
@Global()
@Module({
  providers: [{ provide: EgressPolicy, useFactory: (platform: PlatformSettings) => new EgressPolicy(platform.egressAllow), inject: [PlatformSettings] }],
  exports: [EgressPolicy],
})
export class EgressModule {}
