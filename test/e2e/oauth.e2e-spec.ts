import { randomBytes } from 'node:crypto';
import { OAuthGrantRepository } from '@gatehouse/db';
import { apiRequest } from '../support/admin-api';
import { query } from '../support/database';
import { BrowserPage, Redirected, TestBrowser } from '../support/browser';
import { startGateway, TestGateway, waitUntilConnected } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { connectWithOAuth, TestOAuthProvider } from '../support/oauth-client';
import { CALLBACK, codeFrom, OAuthFlow, pkcePair, signInAndApprove, signInWithPassword } from '../support/oauth-flow';
import { fixtureStdioYaml } from '../support/servers';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const ADMIN = 'ghk_test_oauth_admin_key_000001';
const ALICE = { email: 'alice@acme.test', password: 'alice-password-123' };
const BOB = { email: 'bob@acme.test', password: 'bob-password-4567' };

interface KeyView {
  id: string;
  name: string;
  kind: string;
  access: string;
  role: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

// Playing ChatGPT and Claude: the MCP SDK client's OAuth support against Gatehouse's authorization server,
// with a person signing in and approving through the gateway's own pages.
describe('OAuth 2.1 authorization server', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway({
      yaml: `
oauth:
  accessTokenTtl: 60m
organizations:
  - slug: acme
    name: Acme
    members:
      - { email: ${ALICE.email}, role: admin, passwordEnv: ALICE_PASSWORD }
      - { email: ${BOB.email}, role: member, passwordEnv: BOB_PASSWORD }
    apiKeys:
      - { name: admin, role: admin, secretEnv: ADMIN_KEY }
    connections:
      - ${fixtureStdioYaml('tools')}
  - slug: globex
    name: Globex
    members:
      - { email: ${BOB.email}, role: contractor }
    connections:
      - ${fixtureStdioYaml('globex')}
`,
      vars: { ADMIN_KEY: ADMIN, ALICE_PASSWORD: ALICE.password, BOB_PASSWORD: BOB.password },
    });
    await waitUntilConnected(gateway, ['tools', 'globex']);
    flows = new OAuthFlow(gateway.baseUrl, gateway.mcpUrl);
  }, 120_000);

  afterAll(async () => {
    await gateway?.close();
  });

  describe('discovery', () => {
    it('publishes protected resource metadata for /mcp (RFC 9728) at both well-known paths', async () => {
      for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
        const reply = await apiRequest<Record<string, unknown>>(gateway.baseUrl, null, 'GET', path);
        expect(reply.status).toBe(200);
        expect(reply.body).toEqual(
          expect.objectContaining({
            resource: gateway.mcpUrl,
            authorization_servers: [gateway.baseUrl],
            scopes_supported: ['mcp:read', 'mcp:write', 'mcp:admin'],
            bearer_methods_supported: ['header'],
          }),
        );
      }
    });

    it('publishes authorization server metadata (RFC 8414) and the OpenID configuration alias', async () => {
      for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
        const reply = await apiRequest<Record<string, unknown>>(gateway.baseUrl, null, 'GET', path);
        expect(reply.status).toBe(200);
        expect(reply.body).toMatchObject({
          issuer: gateway.baseUrl,
          authorization_endpoint: `${gateway.baseUrl}/oauth/authorize`,
          token_endpoint: `${gateway.baseUrl}/oauth/token`,
          registration_endpoint: `${gateway.baseUrl}/oauth/register`,
          revocation_endpoint: `${gateway.baseUrl}/oauth/revoke`,
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: expect.arrayContaining(['none']),
          client_id_metadata_document_supported: true,
          authorization_response_iss_parameter_supported: true,
        });
      }
    });

    it('answers an unauthenticated /mcp with 401 and a challenge naming the resource metadata and scope', async () => {
      const response = await fetch(gateway.mcpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe(
        `Bearer resource_metadata="${gateway.baseUrl}/.well-known/oauth-protected-resource/mcp", scope="mcp:read mcp:write"`,
      );
    });
  });

  describe('playing ChatGPT (dynamic client registration)', () => {
    it('registers, signs in, approves, lists and calls tools, and shows the grant as a key that revokes it', async () => {
      const browser = new TestBrowser(gateway.baseUrl);
      const provider = new TestOAuthProvider({ redirectUrl: CALLBACK, clientName: 'ChatGPT test' });
      const { client, callback } = await connectWithOAuth({ mcpUrl: gateway.mcpUrl, browser, provider, signIn: signInAndApprove(ALICE) });
      expect(callback.searchParams.get('iss')).toBe(gateway.baseUrl);
      expect(provider.tokens()).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'mcp:read mcp:write' });

      const names = (await listAllTools(client)).map((tool) => tool.name);
      expect(names).toEqual(expect.arrayContaining(['tools_echo', 'tools_write_note']));
      expect(names.some((name) => name.startsWith('globex_'))).toBe(false);
      expect(textOf(await client.callTool({ name: 'tools_echo', arguments: { text: 'via oauth' } }))).toBe('echo: via oauth');

      const keys = await apiRequest<KeyView[]>(gateway.baseUrl, ADMIN, 'GET', '/api/v1/api-keys');
      const grant = keys.body.find((key) => key.name === 'MCP — ChatGPT test');
      expect(grant).toMatchObject({ kind: 'oauth_grant', access: 'read_write', role: 'admin', revokedAt: null, createdAt: expect.any(String) });
      // Last use is written off the request path; it shows up a moment later.
      await waitFor('the grant to record its last use', async () => {
        const listed = await apiRequest<KeyView[]>(gateway.baseUrl, ADMIN, 'GET', '/api/v1/api-keys');
        return listed.body.find((key) => key.id === grant!.id)?.lastUsedAt != null;
      });

      const revoked = await apiRequest<KeyView>(gateway.baseUrl, ADMIN, 'DELETE', `/api/v1/api-keys/${grant!.id}`);
      expect(revoked.status).toBe(200);
      const after = await fetch(gateway.mcpUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${provider.tokens()!.access_token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(after.status).toBe(401);
      expect(after.headers.get('www-authenticate')).toContain('error="invalid_token"');
      await client.close().catch(() => undefined);
    });
  });

  let flows: OAuthFlow;

  /** A fresh client and browser at the sign-in page of a valid authorization request. */
  const openSignIn = async (overrides: Record<string, string> = {}) => {
    const { landed } = await flows.start(overrides);
    if (landed.kind !== 'page') throw new Error(`Expected the sign-in page, got a redirect to ${landed.url.href}`);
    return landed;
  };

  const signIn = async (page: BrowserPage, who = ALICE) => {
    const next = await signInWithPassword(page, who);
    if (next.kind !== 'page') throw new Error(`Expected the consent page, got a redirect to ${next.url.href}`);
    return next;
  };

  /** Signs in and approves; returns the code and what the token request needs. */
  const authorize = async (who = ALICE, overrides: Record<string, string | undefined> = {}, organization?: string) => {
    const { clientId, verifier, browser, landed } = await flows.start(overrides);
    if (landed.kind !== 'page') throw new Error(`Expected the sign-in page, got a redirect to ${landed.url.href}`);
    return { clientId, verifier, browser, code: codeFrom(await signInAndApprove(who, organization)(landed)) };
  };

  describe('refusals', () => {
    it('refuses a wrong PKCE verifier', async () => {
      const flow = await authorize();
      const reply = await flows.exchange(flow, { code_verifier: pkcePair().verifier });
      expect(reply).toMatchObject({ status: 400, cacheControl: 'no-store', body: { error: 'invalid_grant' } });
      expect(reply.body['error_description']).toMatch(/code_verifier/);
    });

    it('refuses the plain PKCE method and a missing challenge at the client\'s redirect URI, with state and iss', async () => {
      const clientId = await flows.registeredClientId();
      const browser = new TestBrowser(gateway.baseUrl);
      const { verifier } = pkcePair();
      const cases = [
        { code_challenge: verifier, code_challenge_method: 'plain', expected: /plain is not supported/ },
        { code_challenge: undefined, code_challenge_method: undefined, expected: /code_challenge is required/ },
        { code_challenge: pkcePair().challenge, code_challenge_method: undefined, expected: /must be S256/ },
      ];
      for (const { expected, ...pkceParams } of cases) {
        const result = await browser.open(flows.authorizeUrl({ response_type: 'code', client_id: clientId, redirect_uri: CALLBACK, state: 'xyz', ...pkceParams }));
        expect(result.kind).toBe('redirected');
        const url = (result as Redirected).url;
        expect(`${url.origin}${url.pathname}`).toBe(CALLBACK);
        expect(Object.fromEntries(url.searchParams)).toMatchObject({ error: 'invalid_request', state: 'xyz', iss: gateway.baseUrl });
        expect(url.searchParams.get('error_description')).toMatch(expected);
      }
    });

    it('never redirects to a redirect URI that is not exactly registered, and refuses to register one off the allowlist', async () => {
      const clientId = await flows.registeredClientId();
      const browser = new TestBrowser(gateway.baseUrl);
      for (const redirect of [`${CALLBACK}/`, `${CALLBACK}?x=1`, 'http://127.0.0.1:6275/oauth/callback', 'https://evil.example/cb']) {
        const result = await browser.open(
          flows.authorizeUrl({ response_type: 'code', client_id: clientId, redirect_uri: redirect, code_challenge: pkcePair().challenge, code_challenge_method: 'S256' }),
        );
        expect(result.kind).toBe('page');
        expect((result as BrowserPage).status).toBe(400);
        expect((result as BrowserPage).text()).toContain('is not registered');
      }
      const refused = await flows.register(['https://evil.example/callback']);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ error: 'invalid_redirect_uri' });
    });

    it('revokes what a code issued when the code is replayed', async () => {
      const flow = await authorize();
      const first = await flows.exchange(flow);
      expect(first.status).toBe(200);
      expect(await flows.mcpStatus(first.body['access_token']!)).toBe(200);
      const replay = await flows.exchange(flow);
      expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      expect(await flows.mcpStatus(first.body['access_token']!)).toBe(401);
      const refresh = await flows.tokenRequest({ grant_type: 'refresh_token', client_id: flow.clientId, refresh_token: first.body['refresh_token']! });
      expect(refresh.body['error']).toBe('invalid_grant');
    });

    it('rotates refresh tokens, and a reused one revokes the whole grant', async () => {
      const flow = await authorize();
      const issued = (await flows.exchange(flow)).body;
      const rotated = await flows.tokenRequest({ grant_type: 'refresh_token', client_id: flow.clientId, refresh_token: issued['refresh_token']! });
      expect(rotated.status).toBe(200);
      expect(rotated.body['refresh_token']).not.toBe(issued['refresh_token']);
      expect(await flows.mcpStatus(rotated.body['access_token']!)).toBe(200);

      const reused = await flows.tokenRequest({ grant_type: 'refresh_token', client_id: flow.clientId, refresh_token: issued['refresh_token']! });
      expect(reused).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      expect(await flows.mcpStatus(rotated.body['access_token']!)).toBe(401);
      const newest = await flows.tokenRequest({ grant_type: 'refresh_token', client_id: flow.clientId, refresh_token: rotated.body['refresh_token']! });
      expect(newest.body['error']).toBe('invalid_grant');
    });

    it('binds tokens to the MCP endpoint: another resource is refused at authorization, at the token endpoint and at the admin API', async () => {
      const clientId = await flows.registeredClientId();
      const browser = new TestBrowser(gateway.baseUrl);
      const other = await browser.open(
        flows.authorizeUrl({ response_type: 'code', client_id: clientId, redirect_uri: CALLBACK, code_challenge: pkcePair().challenge, code_challenge_method: 'S256', resource: 'https://other.example/mcp' }),
      );
      expect((other as Redirected).url.searchParams.get('error')).toBe('invalid_target');

      const flow = await authorize();
      const wrongResource = await flows.exchange(flow, { resource: 'https://other.example/mcp' });
      expect(wrongResource.body['error']).toBe('invalid_target');
      const issued = await flows.exchange(flow, { resource: gateway.mcpUrl });
      expect(issued.status).toBe(200);
      const admin = await apiRequest(gateway.baseUrl, issued.body['access_token']!, 'GET', '/api/v1/connections');
      expect(admin.status).toBe(401);
    });

    it('refuses a tampered or unknown access token with 401 invalid_token', async () => {
      const flow = await authorize();
      const token = (await flows.exchange(flow)).body['access_token']!;
      const tampered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
      expect(await flows.mcpStatus(tampered)).toBe(401);
      expect(await flows.mcpStatus(`gha_${randomBytes(32).toString('base64url')}`)).toBe(401);
      expect(await flows.mcpStatus(token)).toBe(200);
    });

    it('refuses a consent form with a forged CSRF token, or posted from another browser', async () => {
      const consent = await signIn(await openSignIn());
      expect(consent.buttons()).toEqual(expect.arrayContaining(['Approve', 'Deny']));

      const genuine = consent.hidden('csrf')!;
      const forged = await consent.set('csrf', 'forged-token').click('Approve');
      expect(forged.kind).toBe('page');
      expect((forged as BrowserPage).status).toBe(403);

      // An attacker's page replaying the form, with its fields but not the person's cookies.
      const fields = consent.formValues('Approve');
      const elsewhere = await fetch(`${gateway.baseUrl}/oauth/consent`, { method: 'POST', body: fields, redirect: 'manual' });
      expect(elsewhere.status).toBe(400);
      expect(elsewhere.headers.get('location')).toBeNull();

      // The genuine form still works afterwards.
      const approved = await consent.set('csrf', genuine).click('Approve');
      expect(approved.kind).toBe('redirected');
    });

    it('sends the person back with access_denied when they deny', async () => {
      const consent = await signIn(await openSignIn({ state: 's9' }));
      const denied = (await consent.click('Deny')) as Redirected;
      expect(Object.fromEntries(denied.url.searchParams)).toMatchObject({ error: 'access_denied', state: 's9', iss: gateway.baseUrl });
    });

    it('asks for the email first, then the password, and says so when the password is wrong', async () => {
      const opened = await openSignIn();
      expect(opened.labels()).toEqual(['Email']);
      const invalid = (await opened.fill('Email', 'alice').click('Continue')) as BrowserPage;
      expect(invalid.status).toBe(400);
      expect(invalid.alert()).toBe('Enter your email address, such as name@example.com.');

      // No identity provider accepts acme.test here: straight to the password, the email kept.
      const password = (await invalid.fill('Email', ALICE.email).click('Continue')) as BrowserPage;
      expect(password.status).toBe(200);
      expect(password.labels()).toEqual(['Email', 'Password']);
      expect(password.formValues('Sign in').get('email')).toBe(ALICE.email);
      expect(password.document.querySelectorAll('a')).toHaveLength(0);

      const wrong = (await password.fill('Password', 'not-the-password').click('Sign in')) as BrowserPage;
      expect(wrong.status).toBe(401);
      expect(wrong.alert()).toBe('Wrong email or password.');
      expect(wrong.labels()).toEqual(['Email', 'Password']);
    });
  });

  describe('read-only grants', () => {
    it('grants read-only access for mcp:read, lists only read-only tools, and answers a write tool with 403 insufficient_scope', async () => {
      const flow = await authorize(ALICE, { scope: 'mcp:read' });
      const tokens = await flows.exchange(flow);
      expect(tokens.body['scope']).toBe('mcp:read');
      const client = await connectClient(gateway.mcpUrl, tokens.body['access_token']!);
      const names = (await listAllTools(client)).map((tool) => tool.name);
      expect(names).toContain('tools_echo');
      expect(names).not.toContain('tools_write_note');
      expect(textOf(await client.callTool({ name: 'tools_echo', arguments: { text: 'read' } }))).toBe('echo: read');

      const sessionId = (client.transport as { sessionId?: string }).sessionId!;
      const write = await fetch(gateway.mcpUrl, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tokens.body['access_token']}`,
          'mcp-session-id': sessionId,
          'mcp-protocol-version': '2025-11-25',
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'tools_write_note', arguments: { text: 'x' } } }),
      });
      expect(write.status).toBe(403);
      expect(write.headers.get('www-authenticate')).toMatch(/^Bearer error="insufficient_scope", scope="mcp:read mcp:write", resource_metadata="[^"]+\/mcp"/);
      expect(await write.json()).toMatchObject({ id: 7, error: { message: expect.stringContaining('mcp:write') } });
      // The same challenge for the stateless revision (2026-07-28), which has no session.
      const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
      const stateless = await fetch(gateway.mcpUrl, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tokens.body['access_token']}`,
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': 'tools/call',
          'mcp-name': 'tools_write_note',
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'tools/call', params: { _meta: meta, name: 'tools_write_note', arguments: { text: 'x' } } }),
      });
      expect(stateless.status).toBe(403);
      expect(stateless.headers.get('www-authenticate')).toMatch(/^Bearer error="insufficient_scope", scope="mcp:read mcp:write"/);
      expect(await stateless.json()).toMatchObject({ id: 8, error: { message: expect.stringContaining('mcp:write') } });
      const keys = await apiRequest<KeyView[]>(gateway.baseUrl, ADMIN, 'GET', '/api/v1/api-keys');
      expect(keys.body.find((key) => key.name === 'MCP — Hand-rolled client' && key.access === 'read_only')).toBeDefined();
      await client.close();
    });
  });

  describe('housekeeping', () => {
    it('purges expired codes and tokens and never-used registrations, and keeps the grant listed', async () => {
      const flow = await authorize();
      const tokens = await flows.exchange(flow);
      const grantId = (await query<{ grant_id: string }>(gateway.databaseUrl, 'SELECT grant_id FROM oauth_tokens WHERE kind = $1 ORDER BY created_at DESC LIMIT 1', ['refresh']))[0]!.grant_id;
      const abandoned = await flows.registeredClientId();
      const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
      const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000);
      await query(gateway.databaseUrl, 'UPDATE oauth_tokens SET expires_at = $1 WHERE grant_id = $2', [twoDaysAgo, grantId]);
      await query(gateway.databaseUrl, 'UPDATE oauth_authorization_codes SET expires_at = $1 WHERE grant_id = $2', [twoDaysAgo, grantId]);
      await query(gateway.databaseUrl, 'UPDATE oauth_clients SET created_at = $1 WHERE client_id = $2', [tenDaysAgo, abandoned]);

      const purged = await gateway.app.get(OAuthGrantRepository).purgeExpired(new Date());
      expect(purged).toMatchObject({ codes: expect.any(Number), tokens: expect.any(Number), clients: expect.any(Number) });
      expect(purged.tokens).toBeGreaterThanOrEqual(2);
      expect(await query(gateway.databaseUrl, 'SELECT id FROM oauth_tokens WHERE grant_id = $1', [grantId])).toEqual([]);
      expect(await query(gateway.databaseUrl, 'SELECT id FROM oauth_clients WHERE client_id = $1', [abandoned])).toEqual([]);
      expect(await query(gateway.databaseUrl, 'SELECT id FROM api_keys WHERE id = $1', [grantId])).toHaveLength(1);
      expect(await flows.mcpStatus(tokens.body['access_token']!)).toBe(401);
    });
  });

  describe('organizations', () => {
    it('lets a member of two organizations choose one, and the token sees only that organization', async () => {
      const globex = await authorize(BOB, {}, 'Globex');
      const globexToken = (await flows.exchange(globex)).body['access_token']!;
      const acme = await authorize(BOB, {}, 'Acme');
      const acmeToken = (await flows.exchange(acme)).body['access_token']!;

      const globexClient = await connectClient(gateway.mcpUrl, globexToken);
      const names = (await listAllTools(globexClient)).map((tool) => tool.name);
      expect(names.some((name) => name.startsWith('globex_'))).toBe(true);
      expect(names.some((name) => name.startsWith('tools_'))).toBe(false);

      // A session opened with the Globex token is not visible to the Acme token.
      const sessionId = (globexClient.transport as { sessionId?: string } | undefined)?.sessionId;
      expect(sessionId).toBeDefined();
      const foreign = await fetch(gateway.mcpUrl, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${acmeToken}`,
          'mcp-session-id': sessionId!,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
      });
      expect(foreign.status).toBe(404);
      await globexClient.close();
    });
  });
});

