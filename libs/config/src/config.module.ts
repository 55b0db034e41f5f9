import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from './app-config';
import { PlatformSettings } from './platform-settings';

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig, platform: PlatformSettings = PlatformSettings.from(undefined)): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: PlatformSettings, useValue: platform },
      ],
      exports: [AppConfig, PlatformSettings],
    };
  }
}
