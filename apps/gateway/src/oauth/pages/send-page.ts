import type { Response } from 'express';

/**
 * Sends a page of the sign-in flow: never cached or framed, no scripts. Its forms may post to Gatehouse and, on
 * consent, lead on to the client's redirect URI (Chrome applies form-action to the redirect after a form too),
 * so that target's origin, or its scheme for an app's private-use scheme, is allowed as well.
 */
export function sendPage(response: Response, status: number, body: string, redirectUri?: string): void {
  const formTargets = ["'self'", ...(redirectUri ? [cspSource(redirectUri)] : [])].join(' ');
  response
    .status(status)
    .set({
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'Content-Security-Policy': `default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action ${formTargets}; frame-ancestors 'none'; base-uri 'none'`,
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
    })
    .send(body);
}

function cspSource(uri: string): string {
  const url = new URL(uri);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol;
}
