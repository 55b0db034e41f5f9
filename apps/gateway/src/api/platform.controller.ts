import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { PlatformSettings } from '@gatehouse/config';
import { Authenticated } from '@gatehouse/identity';

// The deployment operator's view of what the platform section allows: it is changed in the config file only.
@ApiTags('platform')
@Controller('api/v1/platform')
export class PlatformController {
  constructor(private readonly platform: PlatformSettings) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'Platform' })
  get() {
    return this.platform.describe();
  }
}
