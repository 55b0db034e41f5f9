import { apiRequest } from '../support/admin-api';
import { query } from '../support/database';
import { startGateway, TestGateway } from '../support/gateway';
import { CALLBACK } from '../support/oauth-flow';

jest.setTimeout(60_000);

const VALID = {
  client_name: 'Registration client',
  redirect_uris: [CALLBACK],
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
};

interface OAuthErrorBody {
  error: string;
  error_description: string;
}

// RFC 7591 dynamic registration is open to anyone on the network and stores what it is sent: the body is bounded,
// every field is checked, and what is stored is only the known fields, checked.
describe('dynamic client registration', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway({ yaml: 'organizations: []\n' });
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
  });

  const clients = async () => (await query<{ count: string }>(gateway.databaseUrl, 'SELECT count(*)::text AS count FROM oauth_clients'))[0]!.count;
  const register = (body: unknown) => apiRequest<OAuthErrorBody & Record<string, unknown>>(gateway.baseUrl, null, 'POST', '/oauth/register', body);
  const postRaw = async (body: string, headers: Record<string, string>) => {
    const response = await fetch(`${gateway.baseUrl}/oauth/register`, { method: 'POST', headers, body });
    return { status: response.status, headers: response.headers, body: (await response.json()) as OAuthErrorBody };
  };

  it('stores the known fields only, and answers with what it stored', async () => {
    const registered = await register({ ...VALID, scope: 'mcp:read mcp:write', client_uri: 'https://client.example', jwks: { keys: [] }, padding: 'x'.repeat(10_000) });
    expect(registered.status).toBe(201);
    expect(registered.body).not.toHaveProperty('padding');
    expect(registered.body).not.toHaveProperty('jwks');
    const [row] = await query<{ metadata: Record<string, unknown>; name: string }>(gateway.databaseUrl, 'SELECT metadata, name FROM oauth_clients WHERE client_id = $1', [
      registered.body['client_id'],
    ]);
    expect(row!.name).toBe('Registration client');
    expect(Object.keys(row!.metadata).sort()).toEqual(['client_name', 'client_uri', 'grant_types', 'redirect_uris', 'response_types', 'scope', 'token_endpoint_auth_method']);
  });

  it('refuses a body past 16 KiB with 413 in OAuth\'s error form, whatever its content type, and stores nothing', async () => {
    const before = await clients();
    const huge = JSON.stringify({ ...VALID, client_name: 'big', software_statement: 'x'.repeat(20_000) });
    for (const contentType of ['application/json', 'text/plain']) {
      const refused = await postRaw(huge, { 'Content-Type': contentType });
      expect(refused.status).toBe(413);
      expect(refused.headers.get('cache-control')).toBe('no-store');
      expect(refused.body).toEqual({ error: 'invalid_client_metadata', error_description: "The registration request is larger than 16384 bytes; send only the client's metadata" });
    }
    // Sent in chunks without a Content-Length, it is cut off as it is read.
    const chunked = await fetch(`${gateway.baseUrl}/oauth/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: new Blob([huge]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    await chunked.body?.cancel();

    const notJson = await postRaw('client_name=x&redirect_uris=http://127.0.0.1/cb', { 'Content-Type': 'application/x-www-form-urlencoded' });
    expect(notJson).toMatchObject({ status: 400, body: { error: 'invalid_client_metadata' } });
    expect(await clients()).toBe(before);
  });

  it('refuses hostile metadata field by field with the field named, and stores nothing', async () => {
    const before = await clients();
    const uri = (n: number) => `http://127.0.0.1:${6000 + n}/callback`;
    const cases: [string, Record<string, unknown> | unknown[], string, RegExp][] = [
      ['too many redirect URIs', { redirect_uris: Array.from({ length: 21 }, (_, i) => uri(i)) }, 'invalid_redirect_uri', /^redirect_uris: redirect_uris may list at most 20 URIs$/],
      ['a redirect URI too long', { redirect_uris: [`${CALLBACK}?${'a'.repeat(2_000)}`] }, 'invalid_redirect_uri', /^redirect_uris\.0: /],
      ['a control character in a redirect URI', { redirect_uris: [`${CALLBACK}\n`] }, 'invalid_redirect_uri', /control characters/],
      ['a control character in the name', { client_name: 'Claude\u0007' }, 'invalid_client_metadata', /^client_name: must not contain control characters$/],
      // Text no request may carry anywhere is refused before registration reads it.
      ['a NUL in the name', { client_name: 'Claude\u0000' }, 'invalid_client_metadata', /^Invalid text in body\.client_name: a NUL character/],
      ['a bidirectional override in the name', { client_name: 'Good \u202Eliame' }, 'invalid_client_metadata', /^client_name: /],
      ['a name too long', { client_name: 'n'.repeat(201) }, 'invalid_client_metadata', /^client_name: /],
      ['a script as client_uri', { client_uri: 'javascript:alert(1)' }, 'invalid_client_metadata', /^client_uri: must be an http or https URL$/],
      ['a logo URI too long', { logo_uri: `https://client.example/${'l'.repeat(2_000)}` }, 'invalid_client_metadata', /^logo_uri: /],
      ['a scope with a quote', { scope: 'mcp:read "x"' }, 'invalid_client_metadata', /^scope: /],
      ['a software version with a newline', { software_version: '1.0\r\nSet-Cookie: x' }, 'invalid_client_metadata', /^software_version: /],
      ['grant types repeated', { grant_types: ['authorization_code', 'refresh_token', 'refresh_token'] }, 'invalid_client_metadata', /^grant_types: /],
      ['a number for a name', { client_name: 42 }, 'invalid_client_metadata', /^client_name: /],
      ['an array for a body', [VALID], 'invalid_client_metadata', /^body: /],
    ];
    for (const [label, fields, error, description] of cases) {
      const reply = await register(Array.isArray(fields) ? fields : { ...VALID, ...fields });
      expect({ label, status: reply.status, error: reply.body.error }).toEqual({ label, status: 400, error });
      expect({ label, description: reply.body.error_description }).toEqual({ label, description: expect.stringMatching(description) });
    }
    expect(await clients()).toBe(before);
  });
});
