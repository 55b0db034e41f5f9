import { ClientCredentials, OAuthError } from '@gatehouse/identity';

type Form = Record<string, unknown>;

// RFC 6749 §2.3.1: HTTP Basic with form-urlencoded id and secret, or the same as form fields. Shared by the token
// and revocation endpoints and by their rate limits, which count per client.
export function clientCredentials(form: Form, authorization: string | undefined): ClientCredentials {
  const basic = /^Basic\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  if (basic) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthError('invalid_client', 'Malformed HTTP Basic credentials');
    try {
      return { clientId: decodeURIComponent(decoded.slice(0, colon)), clientSecret: decodeURIComponent(decoded.slice(colon + 1)), via: 'basic' };
    } catch {
      throw new OAuthError('invalid_client', 'Malformed HTTP Basic credentials');
    }
  }
  const text = (name: string) => (typeof form[name] === 'string' ? (form[name] as string) : undefined);
  const clientSecret = text('client_secret');
  return { clientId: text('client_id'), clientSecret, via: clientSecret ? 'post' : 'none' };
}
