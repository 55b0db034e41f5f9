import type { LookupAddress } from 'node:dns';
import { DEFAULT_REDIRECT_ALLOWLIST } from '@gatehouse/config';
import { EgressPolicy } from '@gatehouse/egress';
import {
  ClientMetadataDocumentFetcher,
  clientIdUrlProblem,
  documentCacheSeconds,
  isClientIdUrl,
  validateClientMetadataDocument,
} from './client-metadata-document';
import { OAuthError } from './oauth.errors';

const URL_ID = 'https://client.example/oauth/metadata.json';
const CALLBACK = 'https://claude.ai/api/mcp/auth_callback';

const resolvesTo =
  (...addresses: string[]) =>
  async (): Promise<LookupAddress[]> =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

async function refusal(promise: Promise<unknown>): Promise<OAuthError> {
  const error = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(OAuthError);
  expect((error as OAuthError).code).toBe('invalid_client');
  return error as OAuthError;
}

function refused(run: () => unknown): OAuthError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(OAuthError);
    expect((error as OAuthError).code).toBe('invalid_client');
    return error as OAuthError;
  }
  throw new Error('expected a refusal');
}

describe('client ID metadata documents', () => {
  describe('client_id URLs', () => {
    it('tells a URL from a registered client id', () => {
      expect(isClientIdUrl(URL_ID)).toBe(true);
      expect(isClientIdUrl('http://client.example/x.json')).toBe(true);
      expect(isClientIdUrl('Yq3x9_c2VjcmV0LWlkLTAx')).toBe(false);
    });

    it.each([
      [URL_ID, null],
      ['https://client.example:8443/metadata.json?v=2', null],
      ['http://client.example/metadata.json', 'must use https'],
      ['https://user:pw@client.example/metadata.json', 'must not contain credentials'],
      ['https://client.example/metadata.json#x', 'must not contain a fragment'],
      ['https://client.example/metadata.json#', 'must not contain a fragment'],
      ['https://client.example', 'must have a path'],
      ['https://client.example/', 'must have a path'],
      ['https://client.example/a/../metadata.json', 'must not contain "." or ".."'],
      ['https://client.example/./metadata.json', 'must not contain "." or ".."'],
      ['https://client.example/a/%2E%2e/metadata.json', 'must not contain "." or ".."'],
      ['https://', 'is not a valid URL'],
    ])('%s', (url, expected) => {
      const problem = clientIdUrlProblem(url);
      if (expected === null) expect(problem).toBeNull();
      else expect(problem).toContain(expected);
    });
  });

  describe('fetching', () => {
    const connectNowhere = async (): Promise<LookupAddress[]> => {
      throw new Error('no lookup expected');
    };

    it('refuses a private address before connecting', async () => {
      const lookups: string[] = [];
      const fetcher = new ClientMetadataDocumentFetcher({}, DEFAULT_REDIRECT_ALLOWLIST, new EgressPolicy([], async (host) => {
        lookups.push(host);
        return resolvesTo('10.255.255.1')();
      }));
      const started = Date.now();
      const error = await refusal(fetcher.fetch('https://10.255.255.1/c.json'));
      expect(error.description).toContain('its host 10.255.255.1 is a private-network address');
      expect(error.description).toContain('platform.egress.allow');
      // An address literal needs no lookup.
      expect(lookups).toEqual([]);
      const named = await refusal(fetcher.fetch('https://intranet.example/c.json'));
      expect(named.description).toContain('intranet.example resolves to 10.255.255.1, a private-network address');
      expect(lookups).toEqual(['intranet.example']);
      expect(Date.now() - started).toBeLessThan(1000);
    });

    it('reads an IPv6 host without its brackets', async () => {
      const fetcher = new ClientMetadataDocumentFetcher({}, DEFAULT_REDIRECT_ALLOWLIST, new EgressPolicy([], connectNowhere));
      expect((await refusal(fetcher.fetch('https://[::1]:8443/c.json'))).description).toContain('::1 is a loopback address');
    });

    it('refuses an invalid client_id URL without resolving it', async () => {
      const fetcher = new ClientMetadataDocumentFetcher({}, DEFAULT_REDIRECT_ALLOWLIST, new EgressPolicy([], connectNowhere));
      expect((await refusal(fetcher.fetch('http://client.example/c.json'))).description).toContain('must use https');
      expect((await refusal(fetcher.fetch('https://client.example/'))).description).toContain('must have a path');
    });
  });

  describe('document validation', () => {
    const valid = (extra: Record<string, unknown> = {}) => ({
      client_id: URL_ID,
      client_name: 'Claude',
      redirect_uris: [CALLBACK],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...extra,
    });
    const validate = (body: unknown) => validateClientMetadataDocument(URL_ID, body, DEFAULT_REDIRECT_ALLOWLIST);

    it('accepts a public client document and keeps it as received', () => {
      const body = valid({ logo_uri: 'https://client.example/logo.png' });
      expect(validate(body)).toEqual({ clientId: URL_ID, name: 'Claude', redirectUris: [CALLBACK], document: body });
    });

    it('names the client by its host when the document has no client_name, and takes a missing auth method as none', () => {
      const { client_name: _name, token_endpoint_auth_method: _method, ...rest } = valid();
      expect(validate(rest).name).toBe('client.example');
    });

    it.each([
      ['a client_id that is not the URL', valid({ client_id: 'https://other.example/oauth/metadata.json' }), 'is not the URL it was fetched from'],
      ['a client_id that differs only by normalization', valid({ client_id: 'https://CLIENT.example/oauth/metadata.json' }), 'is not the URL it was fetched from'],
      ['no client_id', valid({ client_id: undefined }), 'client_id null'],
      ['a client_secret', valid({ client_secret: 's3cret' }), 'must not contain client_secret'],
      ['a client_secret_expires_at', valid({ client_secret_expires_at: 0 }), 'must not contain client_secret_expires_at'],
      ['private_key_jwt', valid({ token_endpoint_auth_method: 'private_key_jwt' }), 'private_key_jwt is not supported'],
      ['a shared-secret method', valid({ token_endpoint_auth_method: 'client_secret_basic' }), 'cannot be used with a metadata document'],
      ['no redirect URIs', valid({ redirect_uris: [] }), 'redirect_uris: must list at least one redirect URI'],
      ['a redirect URI off the allowlist', valid({ redirect_uris: ['https://evil.example/cb'] }), 'https://evil.example/cb is not allowed'],
      ['a javascript: redirect URI', valid({ redirect_uris: ['javascript:alert(1)'] }), 'must not use the javascript: scheme'],
      ['grant types without authorization_code', valid({ grant_types: ['client_credentials'] }), 'grant_types: must include authorization_code'],
      ['response types without code', valid({ response_types: ['token'] }), 'response_types: must include code'],
      ['an array', [valid()], 'not a JSON object'],
      ['a string', 'hello', 'not a JSON object'],
    ])('refuses %s', (_case, body, reason) => {
      const error = refused(() => validate(body));
      expect(error.description).toContain(URL_ID);
      expect(error.description).toContain(reason);
    });
  });

  describe('caching', () => {
    it.each([
      [undefined, 3600],
      ['public', 3600],
      ['max-age=600', 600],
      ['public, max-age=1200, must-revalidate', 1200],
      ['max-age=60', 300],
      ['max-age=0', 300],
      ['no-store', 300],
      ['no-cache, max-age=7200', 300],
      ['max-age=604800', 86_400],
    ])('Cache-Control %s → %i seconds', (header, seconds) => {
      expect(documentCacheSeconds(header)).toBe(seconds);
    });
  });
});
