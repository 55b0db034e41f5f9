import 'reflect-metadata';
import { AppConfig, boundHeapGrowth, ConfigFileError, loadConfigFile, StartupError } from '@gatehouse/config';
import { checkPostgres, checkRedis, migrate } from '@gatehouse/db';
import { createGatewayApp, installGracefulShutdown } from './gateway.app';
import { StartupWatchdog } from './startup-watchdog';

async function main(): Promise<void> {
  boundHeapGrowth();
  const config = AppConfig.fromEnvironment();
  // Validate the whole config file before touching any service, so a broken file changes nothing.
  const configFile = config.env.GATEHOUSE_CONFIG
    ? loadConfigFile(config.env.GATEHOUSE_CONFIG, config.processEnvironment)
    : null;
  const watchdog = new StartupWatchdog(config.env.GATEHOUSE_STARTUP_TIMEOUT_MS, (line) => {
    console.error(`gatehouse: ${line}`);
    process.exit(1);
  });
  watchdog.at('checking PostgreSQL');
  await checkPostgres(config);
  watchdog.at('checking Redis');
  await checkRedis(config);
  watchdog.at('migrating the database');
  if (config.env.GATEHOUSE_MIGRATE) await migrate(config);

  watchdog.at('starting: applying the config file, connecting to PostgreSQL, Redis and the downstream servers');
  const app = await createGatewayApp({ config, configFile });
  installGracefulShutdown(app, config.env.GATEHOUSE_SHUTDOWN_GRACE_MS);
  await app.listen(config.env.PORT, config.env.HOST);
  watchdog.done();
  if (config.env.usingDevelopmentSecretKey) {
    console.warn('gatehouse: GATEHOUSE_SECRET_KEY is not set; using the development key (never in production)');
  }
  if (config.env.usingDevelopmentAuditKey) {
    console.warn(
      'gatehouse: GATEHOUSE_AUDIT_SIGNING_KEY is not set; audit checkpoints are signed with a key derived from GATEHOUSE_SECRET_KEY (never in production)',
    );
  }
  console.log(`gatehouse: listening on ${config.env.HOST}:${config.env.PORT}; MCP endpoint ${config.mcpUrl}`);
}

main().catch((error: unknown) => {
  if (error instanceof StartupError || error instanceof ConfigFileError) {
    console.error(`gatehouse: ${error.message}`);
  } else {
    console.error('gatehouse: start-up failed:', error);
  }
  process.exit(1);
});
