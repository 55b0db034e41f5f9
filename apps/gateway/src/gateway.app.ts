import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import cookieParser from 'cookie-parser';
import cors from 'cors';
import { Logger } from 'nestjs-pino';
import { cleanupOpenApiDoc } from 'nestjs-zod';
import { requestLogger, ROOT_LOGGER, settlesWithin } from '@gatehouse/config';
import { CallTracker, McpFrontDoor, McpSessions } from '@gatehouse/mcp';
import { GatewayModule, GatewayOptions } from './gateway.module';
import { dashboardAssets } from './dashboard/dashboard-assets';
import { answerUnparsableRequests } from './http/client-error';
import { clientAddress } from './http/client-address';
import { jsonBodyParser } from './http/json-body';
import { keepIdleConnections } from './http/keep-alive';
import { securityHeaders } from './http/security-headers';
import { refuseUnstorableText } from './http/storable-text.middleware';
import { isRegistration, refuseRegistrationBody, REGISTRATION_MAX_BYTES } from './oauth/registration-body';

/** Builds the whole gateway (used by main and by the tests); call listen() on the result. */
export async function createGatewayApp(options: GatewayOptions): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(options), {
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  const requests = requestLogger(app.get(ROOT_LOGGER));
  const json = jsonBodyParser(options.config.env.GATEHOUSE_MAX_BODY_BYTES);
  const security = securityHeaders({ contentSecurityPolicy: { useDefaults: true } });
  const mcp = app.get(McpFrontDoor);
  app.use(requests);
  // Browser-based MCP clients discover, register and fetch tokens cross-origin; none of these use cookies. First, so
  // that refusals of a request's body can be read by them too.
  app.use(['/.well-known', '/oauth/token', '/oauth/register', '/oauth/revoke'], cors({ origin: '*', maxAge: 600, exposedHeaders: ['RateLimit', 'RateLimit-Policy', 'Retry-After', 'WWW-Authenticate'] }));
  // Registration bodies are read as JSON whatever their content type (RFC 7591 takes nothing else), within a size of
  // their own; the general parser leaves a body already read alone.
  app.useBodyParser('json', { limit: REGISTRATION_MAX_BYTES, type: isRegistration });
  app.use(mcp.bodyParser(json));
  // OAuth's token, revocation and consent endpoints take forms.
  app.useBodyParser('urlencoded', { extended: false, limit: '64kb' });
  // Ahead of Nest's own error handling, which would answer in problem JSON.
  app.use('/oauth/register', refuseRegistrationBody);
  app.use(refuseUnstorableText);
  keepIdleConnections(app.getHttpServer(), options.config.env.GATEHOUSE_HTTP_KEEP_ALIVE_SECONDS);
  answerUnparsableRequests(app.getHttpServer());
  app.disable('x-powered-by');
  app.set('trust proxy', options.config.env.GATEHOUSE_TRUST_PROXY);
  app.use(security.middleware);
  app.use('/admin/assets', dashboardAssets(options.config.env.GATEHOUSE_DASHBOARD_DIR));
  // The sign-in pages, the dashboard and the admin API (which takes the dashboard's session) read cookies; /mcp never does.
  app.use(['/oauth', '/admin', '/api/v1'], cookieParser(options.config.deriveKey('cookies').toString('base64url')));

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Gatehouse admin API')
      .setDescription('Connections, API keys and health of a Gatehouse MCP gateway.')
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An admin API key' })
      .build(),
  );
  SwaggerModule.setup('api/docs', app, cleanupOpenApiDoc(document), { jsonDocumentUrl: 'api/docs-json' });
  // tools/call on an established session is answered ahead of all of the above (see McpFrontDoor), with the same steps.
  const express = app.getHttpAdapter().getInstance();
  mcp.install(app.getHttpServer(), express, { json, logRequest: requests.begin, secureResponse: security.set, clientAddress: clientAddress(express) });
  return app;
}

// After the grace period for in-flight calls, how long closing may take (ending sessions, recording the calls still
// running as interrupted, reaping stdio servers, closing pools and Redis connections: each bounded on its own too).
export const CLOSE_TIMEOUT_MS = 10_000;

/**
 * SIGTERM/SIGINT: stop accepting, let in-flight calls finish (up to graceMs), end sessions, then close everything
 * (up to CLOSE_TIMEOUT_MS). A step still waiting then (a database or Redis that stopped answering, a lock held
 * elsewhere) is abandoned: the process says so and exits 1, and the calls it could not record as interrupted are
 * recorded by the next gateway to start, or by another replica.
 */
export function installGracefulShutdown(app: NestExpressApplication, graceMs: number): void {
  const logger = new NestLogger('Shutdown');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const server = app.getHttpServer();
    const tracker = app.get(CallTracker);
    logger.log(`${signal} received: draining ${tracker.inFlight} in-flight MCP requests (up to ${graceMs} ms)`);
    server.close();
    const drained = await tracker.drain(graceMs);
    if (!drained) logger.warn(`Grace period over with ${tracker.inFlight} MCP requests still running`);
    const closing = (async () => {
      await app.get(McpSessions).closeAll();
      server.closeAllConnections();
      await app.close();
    })();
    if (!(await settlesWithin(closing, CLOSE_TIMEOUT_MS))) {
      logger.error(`Shutdown did not finish closing within ${CLOSE_TIMEOUT_MS} ms (PostgreSQL or Redis stopped answering, or a lock is held elsewhere): exiting with it unfinished`);
      process.exit(1);
    }
    logger.log('Stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
