import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppConfig, boundHeapGrowth, ConfigFileError, loadConfigFile, PlatformSettings, StartupError } from '@gatehouse/config';
import { checkPostgres, checkRedis } from '@gatehouse/db';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  boundHeapGrowth();
  const config = AppConfig.fromEnvironment();
  // The gateway applies the file; the worker only needs its platform section (the egress policy its deliveries obey).
  const configFile = config.env.GATEHOUSE_CONFIG ? loadConfigFile(config.env.GATEHOUSE_CONFIG, config.processEnvironment) : null;
  await checkPostgres(config);
  await checkRedis(config);
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, PlatformSettings.from(configFile?.config.platform)), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  // Nest's shutdown hooks close the BullMQ workers, which wait for the jobs they are running.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  if (config.env.usingDevelopmentAuditKey) {
    console.warn('gatehouse-worker: GATEHOUSE_AUDIT_SIGNING_KEY is not set; using a development key derived from GATEHOUSE_SECRET_KEY');
  }
  console.log('gatehouse-worker: consuming queues');
}

main().catch((error: unknown) => {
  console.error(error instanceof StartupError || error instanceof ConfigFileError ? `gatehouse-worker: ${error.message}` : error);
  process.exit(1);
});
