import { createRequire } from 'node:module';
import type { RequestHandler } from 'express';

// Express's JSON parser from the Express that Nest's adapter runs (what app.useBodyParser('json', …) registers), as an
// instance of our own: the MCP front door hands it the bodies it does not parse itself, so their answers stay its own.
const express = createRequire(require.resolve('@nestjs/platform-express'))('express') as typeof import('express');

export function jsonBodyParser(limit: number): RequestHandler {
  return express.json({ limit });
}
