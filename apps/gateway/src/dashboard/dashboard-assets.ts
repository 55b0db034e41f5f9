import { join } from 'node:path';
import express, { RequestHandler } from 'express';

// No inline script, nothing from elsewhere, never in a frame. Mantine sets CSS variables in a style element, hence
// inline styles (not scripts).
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The built dashboard's hashed assets (/admin/assets/*): immutable, cached for a year; a missing one falls through. */
export function dashboardAssets(directory: string): RequestHandler {
  return express.static(join(directory, 'assets'), {
    immutable: true,
    maxAge: '365d',
    index: false,
    setHeaders: (response) => response.setHeader('content-security-policy', DASHBOARD_CSP),
  });
}
