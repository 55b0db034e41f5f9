import { Global, Module } from '@nestjs/common';
import { PolicyService } from './policy/policy.service';
import { ToolAccessPolicy } from './policy/tool-access.policy';

const PROVIDERS = [PolicyService, ToolAccessPolicy];

@Global()
@Module({ providers: PROVIDERS, exports: PROVIDERS })
export class GovernanceModule {}
