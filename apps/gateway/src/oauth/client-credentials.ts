import { isStorableText } from '@gatehouse/config';
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
    let clientId: string;
    let clientSecret: string;
    try {
      clientId = decodeURIComponent(decoded.slice(0, colon));
      clientSecret = decodeURIComponent(decoded.slice(colon + 1));
    } catch {
      throw new OAuthError('invalid_client', 'Malformed HTTP Basic credentials');
    }
    // The edge checks the form, not this header's own encoding: what it decodes to is checked here, the same way.
    if (!isStorableText(clientId) || !isStorableText(clientSecret)) {
      throw new OAuthError('invalid_client', 'Malformed HTTP Basic credentials: a NUL character or an unpaired UTF-16 surrogate');
    }
    return { clientId, clientSecret, via: 'basic' };
  }
  const text = (name: string) => (typeof form[name] === 'string' ? (form[name] as string) : undefined);
  const clientSecret = text('client_secret');
  return { clientId: text('client_id'), clientSecret, via: clientSecret ? 'post' : 'none' };
}
