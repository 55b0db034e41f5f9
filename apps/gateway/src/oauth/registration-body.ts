import type { IncomingMessage } from 'node:http';
import type { ErrorRequestHandler } from 'express';
import { OAuthError } from '@gatehouse/identity';

// Dynamic registration is unauthenticated: its body is read up to this size only (a client's metadata, with its
// redirect URIs, fits in a few kilobytes), not up to the limit of authenticated requests.
export const REGISTRATION_MAX_BYTES = 16 * 1024;

/** POST /oauth/register, as Express routes it (case-insensitive, with or without a trailing slash). */
export function isRegistration(request: IncomingMessage): boolean {
  return request.method === 'POST' && /^\/oauth\/register\/?(\?|$)/i.test(request.url ?? '');
}

/** A registration body that could not be read, refused in OAuth's error form: 413 past the size, 400 when not JSON. */
export const refuseRegistrationBody: ErrorRequestHandler = (error: { type?: unknown; status?: unknown }, _request, response, next) => {
  if (typeof error?.status !== 'number' || error.status >= 500) return next(error);
  const tooLarge = error.type === 'entity.too.large';
  const description = tooLarge
    ? `The registration request is larger than ${REGISTRATION_MAX_BYTES} bytes; send only the client's metadata`
    : 'The registration request must be a JSON object of client metadata (RFC 7591)';
  response
    .status(tooLarge ? 413 : 400)
    .set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' })
    .json(new OAuthError('invalid_client_metadata', description).toJSON());
};
