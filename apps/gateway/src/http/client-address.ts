import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { Express } from 'express';

type TrustProxy = (address: string, hop: number) => boolean;

// proxy-addr from the Express that Nest's adapter runs: what its request.ip getter calls.
const expressRequire = createRequire(createRequire(require.resolve('@nestjs/platform-express')).resolve('express'));
const proxyAddress = expressRequire('proxy-addr') as (request: IncomingMessage, trust: TrustProxy) => string;

/** The client's address exactly as Express's request.ip gives it, for requests served before Express (the MCP front door). */
export function clientAddress(app: Express): (request: IncomingMessage) => string {
  return (request) => proxyAddress(request, app.get('trust proxy fn') as TrustProxy);
}
