import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { DEFAULT_REDIRECT_ALLOWLIST } from '@gatehouse/config';
import { EgressPolicy } from '@gatehouse/egress';
import { ClientMetadataDocumentFetcher } from '@gatehouse/identity';
import { apiRequest } from '../support/admin-api';
import { BrowserPage, Redirected, TestBrowser } from '../support/browser';
import { query } from '../support/database';
import { startGateway, TestGateway, waitUntilConnected } from '../support/gateway';
import { listAllTools, textOf } from '../support/mcp-client';
import { connectWithOAuth, TestOAuthProvider } from '../support/oauth-client';
import { signInWithPassword } from '../support/oauth-flow';
import { fixtureStdioYaml } from '../support/servers';

jest.setTimeout(120_000);

const ADMIN = 'ghk_test_cimd_admin_key_0000001';
const ALICE = { email: 'alice@cimd.test', password: 'alice-password-123' };
const CALLBACK = 'http://127.0.0.1:6274/oauth/callback';
// A name only the fetcher tests resolve (to 127.0.0.1), and that the certificate carries.
const DOCUMENT_HOST = 'documents.cimd.test';

interface DocumentResponse {
  status?: number;
  headers?: Record<string, string>;
  /** Sent in pieces without a Content-Length (chunked), as a streaming server would. */
  chunked?: boolean;
  /** Never answered. */
  hang?: boolean;
  body: string;
}

// Playing Claude: an MCP client known by the URL of its client ID metadata document, which it serves over
// HTTPS (a self-signed certificate for 127.0.0.1, trusted through oauth.clientMetadataDocuments.extraCaFile).
describe('OAuth client ID metadata documents', () => {
  let gateway: TestGateway;
  let documents: Server;
  let origin: string;
  let certificateDir: string;
  let caPem: string;
  let port: number;
  /** Path → what the document server answers. */
  const routes = new Map<string, () => DocumentResponse>();
  /** Every path the document server was asked for, in order. */
  const fetched: string[] = [];

  const json = (document: Record<string, unknown>, headers: Record<string, string> = {}): DocumentResponse => ({
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(document),
  });
  const documentFor = (path: string, extra: Record<string, unknown> = {}) => ({
    client_id: `${origin}${path}`,
    client_name: 'Claude test',
    redirect_uris: [CALLBACK],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    ...extra,
  });
  const timesFetched = (path: string) => fetched.filter((each) => each === path).length;

  beforeAll(async () => {
    certificateDir = mkdtempSync(join(tmpdir(), 'gatehouse-cimd-'));
    const key = join(certificateDir, 'key.pem');
    const certificate = join(certificateDir, 'cert.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', `subjectAltName=IP:127.0.0.1,IP:::1,DNS:${DOCUMENT_HOST}`,
      '-keyout', key, '-out', certificate,
    ], { stdio: 'ignore' });

    caPem = readFileSync(certificate, 'utf8');
    documents = createServer({ key: readFileSync(key), cert: caPem }, (request, response) => {
      const path = request.url ?? '/';
      fetched.push(path);
      const route = routes.get(path);
      const answer = route ? route() : { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found' };
      if (answer.hang) return;
      response.writeHead(answer.status ?? 200, answer.headers);
      if (!answer.chunked) return response.end(answer.body);
      for (let start = 0; start < answer.body.length; start += 1024) response.write(answer.body.slice(start, start + 1024));
      response.end();
    });
    // Dual-stack, so that a fetch the gateway should never make to [::1] would be seen here.
    await new Promise<void>((resolve, reject) => {
      documents.once('error', reject);
      documents.listen(0, '::', resolve);
    });
    port = (documents.address() as AddressInfo).port;
    origin = `https://127.0.0.1:${port}`;

    gateway = await startGateway({
      yaml: `
platform:
  egress: { allow: ["127.0.0.1"] }
oauth:
  clientMetadataDocuments:
    extraCaFile: ${JSON.stringify(certificate)}
organizations:
  - slug: cimd
    name: CIMD
    members:
      - { email: ${ALICE.email}, role: admin, passwordEnv: ALICE_PASSWORD }
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN_KEY }
    connections:
      - ${fixtureStdioYaml('tools')}
`,
      vars: { ADMIN_KEY: ADMIN, ALICE_PASSWORD: ALICE.password },
    });
    await waitUntilConnected(gateway, ['tools']);
  }, 120_000);

  afterAll(async () => {
    await gateway?.close();
    documents?.closeAllConnections();
    await new Promise<void>((resolve) => (documents ? documents.close(() => resolve()) : resolve()));
    if (certificateDir) rmSync(certificateDir, { recursive: true, force: true });
  });

  const pkceChallenge = () => createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');

  /** A browser opening an authorization request for `clientId`. */
  const openAuthorize = (clientId: string) => {
    const url = new URL('/oauth/authorize', gateway.baseUrl);
    const params = { response_type: 'code', client_id: clientId, redirect_uri: CALLBACK, code_challenge: pkceChallenge(), code_challenge_method: 'S256', state: 's1' };
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    return new TestBrowser(gateway.baseUrl).open(url);
  };

  /**
   * A token request with a made-up code: a client the gateway accepts gets invalid_grant (the code), a refused
   * one invalid_client. It tells the two apart without a person signing in.
   */
  const tokenProbe = async (clientId: string) => {
    const response = await fetch(`${gateway.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: clientId, code: 'no-such-code', code_verifier: 'v'.repeat(43), redirect_uri: CALLBACK }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, string> };
  };

  const signInAndApprove = async (page: BrowserPage): Promise<BrowserPage | Redirected> => {
    expect(page.text()).toContain('Claude test');
    const consent = await signInWithPassword(page, ALICE);
    if (consent.kind !== 'page') return consent;
    return consent.click('Approve');
  };

  describe('playing Claude', () => {
    it('uses the document URL as client_id: no registration, one fetch, then tools listed and called', async () => {
      routes.set('/claude.json', () => json(documentFor('/claude.json'), { 'cache-control': 'public, max-age=600' }));
      const clientId = `${origin}/claude.json`;
      const provider = new TestOAuthProvider({ redirectUrl: CALLBACK, clientName: 'Claude test', clientMetadataUrl: clientId });
      const { client } = await connectWithOAuth({ mcpUrl: gateway.mcpUrl, browser: new TestBrowser(gateway.baseUrl), provider, signIn: signInAndApprove });

      // The SDK sent the URL itself as client_id, and kept no registration (no secret, nothing issued).
      expect(provider.authorizationUrls[0]!.searchParams.get('client_id')).toBe(clientId);
      expect(provider.clientInformation()).toEqual({ client_id: clientId, issuer: gateway.baseUrl });
      // Fetched once, at authorization; the token exchange used the cached copy (max-age=600).
      expect(timesFetched('/claude.json')).toBe(1);
      const clients = await query(gateway.databaseUrl, 'SELECT client_id, kind, name, redirect_uris, token_endpoint_auth_method FROM oauth_clients');
      expect(clients).toEqual([{ client_id: clientId, kind: 'metadata_document', name: 'Claude test', redirect_uris: [CALLBACK], token_endpoint_auth_method: 'none' }]);

      const names = (await listAllTools(client)).map((tool) => tool.name);
      expect(names).toEqual(expect.arrayContaining(['tools_echo']));
      expect(textOf(await client.callTool({ name: 'tools_echo', arguments: { text: 'via cimd' } }))).toBe('echo: via cimd');
      // Refreshing as Claude does: a public client, identified by the document URL alone.
      const refreshed = await fetch(`${gateway.baseUrl}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', client_id: clientId, refresh_token: provider.tokens()!.refresh_token! }),
      });
      expect(refreshed.status).toBe(200);
      const renewed = (await refreshed.json()) as { access_token: string; refresh_token: string };
      provider.setTokens({ ...provider.tokens()!, ...renewed });
      expect(textOf(await client.callTool({ name: 'tools_echo', arguments: { text: 'renewed' } }))).toBe('echo: renewed');

      // Revoking the grant, listed as a key, cuts Claude off at its next request.
      const keys = await apiRequest<{ id: string; name: string; kind: string }[]>(gateway.baseUrl, ADMIN, 'GET', '/api/v1/api-keys');
      const grant = keys.body.find((key) => key.name === 'MCP — Claude test' && key.kind === 'oauth_grant');
      expect(grant).toBeDefined();
      expect((await apiRequest(gateway.baseUrl, ADMIN, 'DELETE', `/api/v1/api-keys/${grant!.id}`)).status).toBe(200);
      await expect(client.callTool({ name: 'tools_echo', arguments: { text: 'after revocation' } })).rejects.toBeInstanceOf(UnauthorizedError);
      await client.close().catch(() => undefined);
    });

    it('fetches a document again once its max-age has passed, and keeps using a stale copy (up to 24 h) while it cannot', async () => {
      let answer = json(documentFor('/cached.json'), { 'cache-control': 'max-age=300' });
      routes.set('/cached.json', () => answer);
      const clientId = `${origin}/cached.json`;
      const age = (interval: string) => query(gateway.databaseUrl, `UPDATE oauth_clients SET updated_at = now() - interval '${interval}' WHERE client_id = $1`, [clientId]);

      expect((await tokenProbe(clientId)).body['error']).toBe('invalid_grant');
      expect((await tokenProbe(clientId)).body['error']).toBe('invalid_grant');
      expect(timesFetched('/cached.json')).toBe(1);

      answer = json(documentFor('/cached.json', { client_name: 'Claude renamed' }), { 'cache-control': 'max-age=300' });
      await age('6 minutes');
      expect((await tokenProbe(clientId)).body['error']).toBe('invalid_grant');
      expect(timesFetched('/cached.json')).toBe(2);
      expect(await query(gateway.databaseUrl, 'SELECT name FROM oauth_clients WHERE client_id = $1', [clientId])).toEqual([{ name: 'Claude renamed' }]);

      answer = { status: 503, headers: { 'content-type': 'text/plain' }, body: 'down' };
      await age('2 hours');
      expect((await tokenProbe(clientId)).body['error']).toBe('invalid_grant');
      expect(timesFetched('/cached.json')).toBe(3);

      await age('25 hours');
      const refused = await tokenProbe(clientId);
      expect(refused.status).toBe(401);
      expect(refused.body['error_description']).toContain('answered with HTTP 503');
    });
  });

  describe('refusals', () => {
    const huge = 'x'.repeat(20 * 1024);
    const cases: { name: string; path: string; answer: () => DocumentResponse; reason: string }[] = [
      { name: 'a document whose client_id is not its URL', path: '/mismatch.json', answer: () => json(documentFor('/claude.json')), reason: 'is not the URL it was fetched from' },
      {
        name: 'a redirect URI off the allowlist',
        path: '/off-allowlist.json',
        answer: () => json(documentFor('/off-allowlist.json', { redirect_uris: ['https://evil.example/callback'] })),
        reason: 'redirect URI https://evil.example/callback is not allowed',
      },
      { name: 'a document too large', path: '/large.json', answer: () => json(documentFor('/large.json', { padding: huge })), reason: 'larger than 16 KiB' },
      {
        name: 'a document too large, sent without Content-Length',
        path: '/large-chunked.json',
        answer: () => ({ ...json(documentFor('/large-chunked.json', { padding: huge })), chunked: true }),
        reason: 'larger than 16 KiB',
      },
      { name: 'a document that is not JSON', path: '/page.json', answer: () => ({ headers: { 'content-type': 'text/html' }, body: '<h1>hello</h1>' }), reason: 'served as text/html, not application/json' },
      { name: 'a document that does not parse', path: '/broken.json', answer: () => ({ headers: { 'content-type': 'application/json' }, body: '{"client_id": ' }), reason: 'not valid JSON' },
      { name: 'a redirect', path: '/moved.json', answer: () => ({ status: 302, headers: { location: '/never.json' }, body: '' }), reason: 'redirects are not followed' },
      {
        name: 'a client authenticating with private_key_jwt',
        path: '/jwt.json',
        answer: () => json(documentFor('/jwt.json', { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://client.example/jwks' })),
        reason: 'private_key_jwt is not supported',
      },
    ];

    it.each(cases)('refuses $name at the token endpoint with 401 invalid_client', async ({ path, answer, reason }) => {
      routes.set(path, answer);
      const reply = await tokenProbe(`${origin}${path}`);
      expect(reply.status).toBe(401);
      expect(reply.body['error']).toBe('invalid_client');
      expect(reply.body['error_description']).toContain(reason);
      expect(timesFetched('/never.json')).toBe(0);
    });

    it.each(cases)('refuses $name at /oauth/authorize with the error page', async ({ path, answer, reason }) => {
      routes.set(path, answer);
      const page = await openAuthorize(`${origin}${path}`);
      expect(page.kind).toBe('page');
      expect((page as BrowserPage).status).toBe(400);
      expect((page as BrowserPage).text()).toContain(reason);
    });

    it('never fetches from a private address that is not allowed', async () => {
      routes.set('/claude.json', () => json(documentFor('/claude.json')));
      const before = fetched.length;
      for (const clientId of ['https://10.255.255.1/c.json', `https://[::1]:${port}/claude.json`]) {
        const started = Date.now();
        const reply = await tokenProbe(clientId);
        expect(reply.status).toBe(401);
        expect(reply.body['error_description']).toMatch(/its host (10\.255\.255\.1 is a private-network|::1 is a loopback) address/);
        // Refused before any connection: 10.255.255.1 does not answer, so a connection attempt would take the 5 s timeout.
        expect(Date.now() - started).toBeLessThan(2000);

        const page = await openAuthorize(clientId);
        expect(page.kind).toBe('page');
        expect((page as BrowserPage).status).toBe(400);
        expect((page as BrowserPage).text()).toContain('reaches only public addresses');
      }
      expect(fetched.length).toBe(before);
    });

    it('gives up on a document server that does not answer within 5 seconds', async () => {
      routes.set('/slow.json', () => ({ hang: true, body: '' }));
      const started = Date.now();
      const reply = await tokenProbe(`${origin}/slow.json`);
      expect(reply.status).toBe(401);
      expect(reply.body['error_description']).toContain('could not be fetched within 5 seconds');
      expect(Date.now() - started).toBeLessThan(7000);
    });

    it('refuses client_id URLs the draft forbids, without fetching them', async () => {
      const before = fetched.length;
      for (const [clientId, reason] of [
        [`${origin.replace('https:', 'http:')}/claude.json`, 'must use https'],
        [`${origin}/`, 'must have a path'],
        [`${origin}/a/../claude.json`, 'must not contain "." or ".." path segments'],
      ] as const) {
        const reply = await tokenProbe(clientId);
        expect(reply.status).toBe(401);
        expect(reply.body['error_description']).toContain(reason);
      }
      expect(fetched.length).toBe(before);
    });
  });

  // The SSRF defence below the gateway: a host name, resolved once by the fetcher's own lookup, then pinned.
  describe('the fetcher', () => {
    const pinnedDocument = () => json({ ...documentFor('/pinned.json'), client_id: `https://${DOCUMENT_HOST}:${port}/pinned.json` });
    const resolver = (lookups: string[]) => async (host: string) => {
      lookups.push(host);
      return [{ address: '127.0.0.1', family: 4 }];
    };

    it('connects to the address it vetted, asks DNS once, and checks the certificate against the host name', async () => {
      routes.set('/pinned.json', pinnedDocument);
      const lookups: string[] = [];
      const fetcher = new ClientMetadataDocumentFetcher({ extraCa: caPem }, DEFAULT_REDIRECT_ALLOWLIST, new EgressPolicy([DOCUMENT_HOST], resolver(lookups)));
      // documents.cimd.test is in no DNS: only the vetted answer can have taken the connection to 127.0.0.1.
      const fetched = await fetcher.fetch(`https://${DOCUMENT_HOST}:${port}/pinned.json`);
      expect(fetched).toMatchObject({ name: 'Claude test', redirectUris: [CALLBACK], cacheSeconds: 3600 });
      expect(lookups).toEqual([DOCUMENT_HOST]);

      // The same address under a name the certificate does not carry: TLS refuses it.
      const otherName = new ClientMetadataDocumentFetcher({ extraCa: caPem }, DEFAULT_REDIRECT_ALLOWLIST, new EgressPolicy(['other.cimd.test'], resolver([])));
      await expect(otherName.fetch(`https://other.cimd.test:${port}/pinned.json`)).rejects.toMatchObject({ code: 'invalid_client', description: expect.stringContaining('ERR_TLS_CERT_ALTNAME_INVALID') });
    });

    it('trusts only the public roots without extraCaFile', async () => {
      routes.set('/pinned.json', pinnedDocument);
      const fetcher = new ClientMetadataDocumentFetcher({}, DEFAULT_REDIRECT_ALLOWLIST, new EgressPolicy([DOCUMENT_HOST], resolver([])));
      await expect(fetcher.fetch(`https://${DOCUMENT_HOST}:${port}/pinned.json`)).rejects.toMatchObject({ code: 'invalid_client', description: expect.stringContaining('SELF_SIGNED') });
    });
  });
});
