import fc from 'fast-check';
import { RawRequest } from './raw-http';
import { JsonSchema, SchemaComponents, schemaValue } from './fuzz-schema';
import { hostileJson, hostileString, malformedJsonText } from './fuzz-values';

// One arbitrary per public door of the gateway, each producing raw HTTP requests: mostly well-formed enough to get
// past the first check (a real credential, session, client or pending sign-in), with hostile values where the
// door reads its input, plus wrong methods, content types, encodings and sizes.

export type Door = 'mcp' | 'authorize' | 'token' | 'register' | 'revoke' | 'pages' | 'well-known' | 'api' | 'health' | 'junk';

export interface FuzzRequest extends RawRequest {
  door: Door;
}

/** An /api/v1 operation as the OpenAPI document describes it. */
export interface ApiOperation {
  method: string;
  /** The path template, e.g. /api/v1/connections/{id}. */
  path: string;
  query: Record<string, JsonSchema>;
  body: JsonSchema | null;
}

/** A sign-in in progress: its pending request, the form's CSRF token and the browser's cookies. */
export interface PendingSignIn {
  request: string;
  csrf: string;
  cookie: string;
}

export interface FuzzContext {
  maxBodyBytes: number;
  /** `spareSessionId` is the one DELETE and GET may end, so that the POSTs keep theirs. */
  mcp: { key: string; sessionId: string; spareSessionId: string };
  oauth: {
    publicClientId: string;
    confidentialClientId: string;
    confidentialSecret: string;
    redirectUri: string;
    resource: string;
    email: string;
    organizationId: string;
    pending: PendingSignIn[];
    /** Issued to the public client: a refresh token, and an unused code with its verifier. */
    refreshToken: string;
    code: string;
    codeVerifier: string;
  };
  api: { key: string; operations: ApiOperation[]; components: SchemaComponents; ids: string[] };
}

// Node refuses to send header values outside these characters; whatever else a header could carry is sent as "?".
const headerSafe = (value: string) => value.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');

// What a path segment or query value looks like on the wire: UTF-8 percent-encoded (an unpaired surrogate becomes
// U+FFFD, as any encoder makes it), or one of the malformed encodings a hand-written client sends.
const encoded: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: hostileString.map((value) => percentEncode(value)) },
  { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '%00', '%c0%af', '%ED%A0%80', '%FF%FE', '..%2f..%2f', '%2e%2e', '%u0000') },
);

function percentEncode(value: string): string {
  return [...Buffer.from(value, 'utf8')].map((byte) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

type Params = Record<string, unknown>;

// Strings go as they are, arrays as repeated parameters, anything else as its JSON text.
function queryString(params: Params): string {
  const pairs: string[] = [];
  for (const [name, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      pairs.push(`${percentEncode(name)}=${percentEncode(typeof item === 'string' ? item : JSON.stringify(item) ?? '')}`);
    }
  }
  return pairs.join('&');
}

const clientAddress = fc.oneof({ weight: 12, arbitrary: fc.ipV4() }, { weight: 1, arbitrary: fc.constantFrom('junk', '1.2.3.4, evil', '::ffff:1.2.3.4', '', '999.1.1.1', 'fe80::1%eth0') });

const bodyEncodings = fc.oneof(
  { weight: 12, arbitrary: fc.constant<Record<string, string>>({}) },
  { weight: 1, arbitrary: fc.constantFrom<Record<string, string>>({ 'content-encoding': 'gzip' }, { 'content-encoding': 'br' }, { 'content-encoding': 'x-junk' }, { 'content-encoding': 'deflate, gzip' }) },
);

const jsonContentType = fc.oneof(
  { weight: 10, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'application/json; charset=latin1', 'application/json; charset=klingon', 'application/json; charset=utf-16', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/*', 'junk', '') },
);

const formContentType = fc.oneof(
  { weight: 10, arbitrary: fc.constant('application/x-www-form-urlencoded') },
  { weight: 1, arbitrary: fc.constantFrom('application/x-www-form-urlencoded; charset=latin1', 'application/x-www-form-urlencoded; charset=klingon', 'application/json', 'text/plain', 'multipart/form-data; boundary=x', '') },
);

/** A form body: urlencoded fields, or a JSON object, or text that is neither. */
function formBody(form: fc.Arbitrary<Params>): fc.Arbitrary<{ contentType: string; body: string }> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.tuple(formContentType, form).map(([contentType, params]) => ({ contentType, body: queryString(params) })) },
    { weight: 1, arbitrary: form.map((params) => ({ contentType: 'application/json', body: JSON.stringify(params) })) },
    { weight: 1, arbitrary: fc.tuple(formContentType, malformedJsonText).map(([contentType, body]) => ({ contentType, body })) },
  );
}

function request(door: Door, parts: { method: string; path: string; headers?: Record<string, string | undefined>; body?: string; address: string; encoding?: Record<string, string> }): FuzzRequest {
  const headers: Record<string, string> = { 'x-forwarded-for': parts.address, ...parts.encoding };
  for (const [name, value] of Object.entries(parts.headers ?? {})) if (value !== undefined) headers[name] = headerSafe(value);
  return { door, method: parts.method, path: parts.path, headers, ...(parts.body !== undefined ? { body: parts.body } : {}) };
}

const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 4 });

/** Form or query fields: usually those a real client sends, sometimes any of them missing. */
function fields<T extends Record<string, unknown>>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }, usual: (keyof T & string)[]): fc.Arbitrary<Params> {
  return fc.oneof({ weight: 3, arbitrary: fc.record(model, { requiredKeys: usual }) }, { weight: 1, arbitrary: fc.record(model, { requiredKeys: [] }) }) as fc.Arbitrary<Params>;
}

/** A value, sometimes repeated: OAuth says a parameter must not be. */
const param = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof({ weight: 15, arbitrary }, { weight: 1, arbitrary: fc.array(arbitrary, { minLength: 2, maxLength: 3 }) });

export function mcpRequests(context: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const toolName = fc.oneof(
    fc.constantFrom('tools_echo', 'tools_count', 'tools_fail', 'tools_write_note', 'tools_nope', 'gatehouse_list_connections', 'gatehouse_get_connection_health', 'gatehouse_list_approvals', 'gatehouse_get_approval', 'gatehouse_list_policies', 'gatehouse_get_usage_stats'),
    hostileString,
  );
  const callParams = fc.record(
    { name: toolName, arguments: fc.oneof({ weight: 3, arbitrary: fc.record({ text: hostileString }) }, { weight: 1, arbitrary: hostileJson }), _meta: maybe(fc.record({ progressToken: fc.oneof(hostileString, fc.integer()) })) },
    { requiredKeys: ['name'] },
  );
  const initializeParams = fc.record(
    { protocolVersion: fc.oneof(fc.constantFrom('2025-11-25', '2025-06-18', '2024-11-05'), hostileString), capabilities: fc.oneof(fc.constant({}), hostileJson), clientInfo: fc.record({ name: hostileString, version: hostileString }) },
    { requiredKeys: ['protocolVersion', 'capabilities', 'clientInfo'] },
  );
  // Each method mostly with its own kind of params, so that most messages get as far as the method's handler.
  const methodAndParams = fc.oneof(
    { weight: 6, arbitrary: fc.record({ method: fc.constant('tools/call'), params: fc.oneof({ weight: 5, arbitrary: callParams }, { weight: 1, arbitrary: hostileJson }) }, { requiredKeys: ['method'] }) },
    { weight: 2, arbitrary: fc.record({ method: fc.constant('tools/list'), params: fc.oneof(fc.record({ cursor: hostileString }), hostileJson) }, { requiredKeys: ['method'] }) },
    { weight: 1, arbitrary: fc.record({ method: fc.constant('initialize'), params: fc.oneof({ weight: 3, arbitrary: initializeParams }, { weight: 1, arbitrary: hostileJson }) }, { requiredKeys: ['method'] }) },
    {
      weight: 2,
      arbitrary: fc.record(
        {
          method: fc.oneof(fc.constantFrom('notifications/initialized', 'ping', 'resources/list', 'prompts/list', 'logging/setLevel', 'completion/complete', 'notifications/cancelled', 'tasks/get'), hostileString),
          params: hostileJson,
        },
        { requiredKeys: ['method'] },
      ),
    },
  );
  const message = fc
    .record({
      jsonrpc: fc.oneof({ weight: 12, arbitrary: fc.constant<unknown>('2.0') }, { weight: 1, arbitrary: hostileJson }),
      id: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0 }) }, { weight: 1, arbitrary: fc.constantFrom(2 ** 53 + 2, 1e300, -0, 0.5, null) }, { weight: 1, arbitrary: hostileString }, { weight: 1, arbitrary: hostileJson }),
      call: methodAndParams,
    })
    .map(({ call, ...envelope }) => ({ ...envelope, ...call }));
  const body = fc.oneof(
    { weight: 6, arbitrary: message.map((value) => JSON.stringify(value)) },
    { weight: 1, arbitrary: fc.array(message, { maxLength: 4 }).map((value) => JSON.stringify(value)) },
    { weight: 1, arbitrary: hostileJson.map((value) => JSON.stringify(value) ?? '') },
    { weight: 1, arbitrary: malformedJsonText },
  );
  const key = context.mcp.key;
  return fc
    .record({
      method: fc.oneof({ weight: 10, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS') }),
      authorization: fc.oneof({ weight: 8, arbitrary: fc.constant(`Bearer ${key}`) }, { weight: 1, arbitrary: fc.constantFrom(undefined, 'Bearer ', 'Bearer ghk_junk', `Basic ${key}`, `bearer ${key}`, `Bearer ${key}x`) }, { weight: 1, arbitrary: hostileString.map((value) => `Bearer ${value}`) }),
      session: fc.oneof({ weight: 6, arbitrary: fc.constant<string | undefined>(context.mcp.sessionId) }, { weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: hostileString }),
      accept: fc.oneof({ weight: 6, arbitrary: fc.constant<string | undefined>('application/json, text/event-stream') }, { weight: 1, arbitrary: fc.constantFrom(undefined, 'application/json', 'text/event-stream', '*/*', 'text/html') }, { weight: 1, arbitrary: hostileString }),
      protocolVersion: fc.oneof({ weight: 6, arbitrary: fc.constant<string | undefined>(undefined) }, { weight: 2, arbitrary: fc.constantFrom('2025-11-25', '2025-06-18') }, { weight: 1, arbitrary: hostileString }),
      origin: fc.oneof({ weight: 12, arbitrary: fc.constant<string | undefined>(undefined) }, { weight: 1, arbitrary: fc.constantFrom('https://evil.example', 'null') }),
      contentType: jsonContentType,
      body,
      address: clientAddress,
      encoding: bodyEncodings,
    })
    .map((r) =>
      request('mcp', {
        method: r.method,
        path: '/mcp',
        headers: { authorization: r.authorization, 'mcp-session-id': r.method !== 'POST' && r.session === context.mcp.sessionId ? context.mcp.spareSessionId : r.session, accept: r.accept, 'mcp-protocol-version': r.protocolVersion, origin: r.origin, 'content-type': r.contentType },
        ...(r.method === 'GET' || r.method === 'HEAD' ? {} : { body: r.body }),
        address: r.address,
        encoding: r.encoding,
      }),
    );
}

function cookieOf(context: FuzzContext): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...context.oauth.pending.map((pending) => pending.cookie)) },
    { weight: 1, arbitrary: fc.constantFrom(undefined, 'gatehouse_oauth=junk', 'gatehouse_oauth=s%3Ajunk.sig; gatehouse_session=s%3Ax.y', 'gatehouse_oauth=%') },
    { weight: 1, arbitrary: hostileString.map((value) => `gatehouse_oauth=${value}; gatehouse_session=${value}`) },
  );
}

export function authorizeRequests(context: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const { oauth } = context;
  const query = fields(
    {
      response_type: param(fc.oneof({ weight: 4, arbitrary: fc.constant('code') }, { weight: 1, arbitrary: hostileString })),
      client_id: param(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(oauth.publicClientId, oauth.confidentialClientId) }, { weight: 2, arbitrary: hostileString }, { weight: 1, arbitrary: fc.constantFrom('https://127.0.0.1/client.json', 'https://localhost/c', 'http://x/', 'https://') })),
      redirect_uri: param(fc.oneof({ weight: 4, arbitrary: fc.constant(oauth.redirectUri) }, { weight: 1, arbitrary: hostileString })),
      code_challenge: param(fc.oneof({ weight: 4, arbitrary: fc.constant('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM') }, { weight: 1, arbitrary: hostileString })),
      code_challenge_method: param(fc.oneof({ weight: 4, arbitrary: fc.constant('S256') }, { weight: 1, arbitrary: hostileString })),
      state: param(hostileString),
      scope: param(fc.oneof(fc.constantFrom('mcp:read', 'mcp:write', 'mcp:read mcp:write', 'openid'), hostileString)),
      resource: param(fc.oneof({ weight: 3, arbitrary: fc.constant(oauth.resource) }, { weight: 1, arbitrary: hostileString })),
    },
    ['response_type', 'client_id', 'redirect_uri', 'code_challenge', 'code_challenge_method', 'state'],
  );
  return fc
    .record({ method: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('GET', 'POST') }, { weight: 1, arbitrary: fc.constantFrom('PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH') }), query, form: formBody(query), cookie: cookieOf(context), address: clientAddress })
    .map((r) =>
      r.method === 'POST'
        ? request('authorize', { method: 'POST', path: '/oauth/authorize', headers: { 'content-type': r.form.contentType, cookie: r.cookie }, body: r.form.body, address: r.address })
        : request('authorize', { method: r.method, path: `/oauth/authorize?${queryString(r.query)}`, headers: { cookie: r.cookie }, address: r.address }),
    );
}

function basicAuthorization(): fc.Arbitrary<string | undefined> {
  const credential = fc.oneof(hostileString, fc.constantFrom('%', '%00', '%ZZ', 'a%3Ab'));
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.tuple(credential, credential).map(([id, secret]) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`) },
    { weight: 1, arbitrary: fc.constantFrom('Basic', 'Basic !!!', `Basic ${Buffer.from('no-colon').toString('base64')}`, 'Bearer x', 'Basic =') },
  );
}

function clientFields(context: FuzzContext) {
  const { oauth } = context;
  return {
    client_id: param(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(oauth.publicClientId, oauth.confidentialClientId) }, { weight: 2, arbitrary: hostileString })),
    client_secret: param(fc.oneof({ weight: 2, arbitrary: fc.constant(oauth.confidentialSecret) }, { weight: 2, arbitrary: hostileString })),
  };
}

export function tokenRequests(context: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const form = fields(
    {
      grant_type: param(fc.oneof({ weight: 4, arbitrary: fc.constantFrom('authorization_code', 'refresh_token') }, { weight: 1, arbitrary: fc.constantFrom('client_credentials', 'password', 'urn:ietf:params:oauth:grant-type:device_code') }, { weight: 1, arbitrary: hostileString })),
      code: param(fc.oneof(fc.constant(context.oauth.code), fc.base64String({ minLength: 43, maxLength: 44 }), hostileString)),
      code_verifier: param(fc.oneof(fc.constant(context.oauth.codeVerifier), hostileString)),
      redirect_uri: param(fc.oneof(fc.constant(context.oauth.redirectUri), hostileString)),
      refresh_token: param(fc.oneof({ weight: 2, arbitrary: fc.constant(context.oauth.refreshToken) }, { weight: 1, arbitrary: fc.base64String({ minLength: 43, maxLength: 44 }) }, { weight: 1, arbitrary: hostileString })),
      resource: param(fc.oneof(fc.constant(context.oauth.resource), hostileString)),
      scope: param(hostileString),
      ...clientFields(context),
    },
    ['grant_type', 'client_id', 'code', 'code_verifier', 'redirect_uri', 'refresh_token'],
  );
  return fc
    .record({ method: fc.oneof({ weight: 10, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'OPTIONS') }), form: formBody(form), authorization: basicAuthorization(), address: clientAddress, encoding: bodyEncodings })
    .map((r) => request('token', { method: r.method, path: '/oauth/token', headers: { 'content-type': r.form.contentType, authorization: r.authorization }, body: r.form.body, address: r.address, encoding: r.encoding }));
}

export function revokeRequests(context: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const form = fields(
    { token: param(fc.oneof(fc.base64String({ minLength: 43, maxLength: 44 }), hostileString)), token_type_hint: param(fc.oneof(fc.constantFrom('access_token', 'refresh_token'), hostileString)), ...clientFields(context) },
    ['token', 'client_id'],
  );
  return fc
    .record({ form: formBody(form), authorization: basicAuthorization(), address: clientAddress })
    .map((r) => request('revoke', { method: 'POST', path: '/oauth/revoke', headers: { 'content-type': r.form.contentType, authorization: r.authorization }, body: r.form.body, address: r.address }));
}

export function registerRequests(context: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const uri = fc.oneof({ weight: 6, arbitrary: fc.constant(context.oauth.redirectUri) }, { weight: 1, arbitrary: hostileString }, { weight: 1, arbitrary: fc.webUrl() });
  const usually = <T>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<unknown>) => fc.oneof({ weight: 5, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: other });
  const metadata = fc.record(
    {
      redirect_uris: usually(fc.array(uri, { minLength: 1, maxLength: 3 }), hostileJson),
      token_endpoint_auth_method: usually(fc.constantFrom('none', 'client_secret_basic', 'client_secret_post'), hostileString),
      grant_types: usually(fc.constant(['authorization_code', 'refresh_token']), fc.array(hostileString, { maxLength: 2 })),
      response_types: usually(fc.constant(['code']), hostileJson),
      client_name: hostileString,
      client_uri: usually(fc.webUrl(), hostileString),
      logo_uri: usually(fc.webUrl(), hostileString),
      scope: usually(fc.constantFrom('mcp:read', 'mcp:read mcp:write'), hostileString),
      software_id: usually(fc.uuid(), hostileString),
      software_version: usually(fc.constantFrom('1.0.0', '2026.1'), hostileString),
      contacts: usually(fc.array(fc.emailAddress(), { maxLength: 2 }), hostileJson),
      jwks: usually(fc.constant({ keys: [] }), hostileJson),
    },
    { requiredKeys: ['redirect_uris', 'token_endpoint_auth_method', 'client_name'] },
  );
  const body = fc.oneof(
    { weight: 6, arbitrary: metadata.map((known) => JSON.stringify(known)) },
    { weight: 1, arbitrary: fc.tuple(metadata, fc.dictionary(hostileString, hostileJson, { maxKeys: 2 })).map(([known, extra]) => JSON.stringify({ ...extra, ...known })) },
    { weight: 1, arbitrary: hostileJson.map((value) => JSON.stringify(value) ?? '') },
    { weight: 1, arbitrary: malformedJsonText },
  );
  return fc
    .record({ method: fc.oneof({ weight: 10, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT') }), contentType: jsonContentType, body, address: clientAddress, encoding: bodyEncodings })
    .map((r) => request('register', { method: r.method, path: '/oauth/register', headers: { 'content-type': r.contentType }, body: r.body, address: r.address, encoding: r.encoding }));
}

/** The sign-in pages: continue, sign-in, organization, consent and the SSO hops, with real and forged pending requests; the dashboard's. */
export function pageRequests(context: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const { oauth } = context;
  // One pending sign-in per request, its id, token and cookies together (else it would only ever be "expired").
  return fc.constantFrom(...oauth.pending).chain((pending) => {
    const pendingRequest = fc.oneof({ weight: 6, arbitrary: fc.constant(pending.request) }, { weight: 1, arbitrary: hostileString });
    const csrf = fc.oneof({ weight: 6, arbitrary: fc.constant(pending.csrf) }, { weight: 1, arbitrary: hostileString });
    const cookie = fc.oneof({ weight: 6, arbitrary: fc.constant<string | undefined>(pending.cookie) }, { weight: 1, arbitrary: cookieOf(context) });
    const signIn = fields({ request: param(pendingRequest), csrf: param(csrf), email: param(fc.oneof(fc.constant(oauth.email), hostileString)), password: param(hostileString) }, ['request', 'csrf', 'email', 'password']);
    const organization = fields({ request: param(pendingRequest), csrf: param(csrf), organization: param(fc.oneof(fc.constant(oauth.organizationId), fc.uuid(), hostileString)) }, ['request', 'csrf', 'organization']);
    // Approve and deny end the pending request, so they come up rarely: most requests still find it.
    const consent = fields({ request: param(pendingRequest), csrf: param(csrf), decision: param(fc.oneof({ weight: 1, arbitrary: fc.constantFrom('approve', 'deny') }, { weight: 12, arbitrary: hostileString })) }, ['request', 'csrf', 'decision']);
    const post = (path: string, form: fc.Arbitrary<Params>) =>
      fc.record({ form: formBody(form), cookie, address: clientAddress }).map((r) => request('pages', { method: 'POST', path, headers: { 'content-type': r.form.contentType, cookie: r.cookie }, body: r.form.body, address: r.address }));
    const get = (path: fc.Arbitrary<string>) =>
      fc.record({ path, cookie, address: clientAddress, method: fc.oneof({ weight: 8, arbitrary: fc.constant('GET') }, { weight: 1, arbitrary: fc.constantFrom('POST', 'HEAD', 'DELETE') }) }).map((r) => request('pages', { method: r.method, path: r.path, headers: { cookie: r.cookie }, address: r.address }));
    const requestQuery = fields({ request: param(pendingRequest) }, ['request']).map(queryString);
    const callbackQuery = fields({ code: param(hostileString), state: param(hostileString), iss: param(hostileString), error: param(hostileString), error_description: param(hostileString) }, ['code', 'state']).map(queryString);
    return fc.oneof(
      post('/oauth/sign-in', signIn),
      post('/oauth/organization', organization),
      post('/oauth/consent', consent),
      get(requestQuery.map((query) => `/oauth/continue?${query}`)),
      get(fc.tuple(fc.oneof(fc.uuid(), encoded), requestQuery).map(([id, query]) => `/oauth/sso/${id}?${query}`)),
      get(callbackQuery.map((query) => `/oauth/sso/callback?${query}`)),
      // The dashboard's sign-in (its binding cookie is not among these: every post is refused as another site's) and
      // its pages, which any path under /admin answers.
      post('/admin/sign-in/identify', fields({ csrf: param(csrf), email: param(fc.oneof(fc.constant(oauth.email), hostileString)), next: param(hostileString) }, ['csrf', 'email'])),
      post('/admin/sign-in/password', fields({ csrf: param(csrf), email: param(fc.oneof(fc.constant(oauth.email), hostileString)), password: param(hostileString), next: param(hostileString) }, ['csrf', 'email', 'password'])),
      get(fields({ next: param(hostileString) }, ['next']).map((query) => `/admin/sign-in?${queryString(query)}`)),
      get(fc.oneof(fc.uuid(), encoded).map((id) => `/admin/sign-in/sso/${id}`)),
      get(fc.array(encoded, { minLength: 1, maxLength: 3 }).map((segments) => `/admin/${segments.join('/')}`)),
    );
  });
}

export function wellKnownRequests(): fc.Arbitrary<FuzzRequest> {
  const path = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-authorization-server', '/.well-known/openid-configuration') },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('/.well-known/', '/.well-known/oauth-authorization-server/', '/.well-known/oauth-protected-resource/'), encoded).map(([base, rest]) => base + rest) },
  );
  return fc
    .record({ path, query: fc.dictionary(hostileString, hostileString, { maxKeys: 2 }), method: fc.oneof({ weight: 6, arbitrary: fc.constant('GET') }, { weight: 1, arbitrary: fc.constantFrom('POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS') }), address: clientAddress })
    .map((r) => request('well-known', { method: r.method, path: `${r.path}?${queryString(r.query)}`, headers: { origin: 'https://client.example' }, address: r.address }));
}

export function healthRequests(): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      path: fc.constantFrom('/healthz', '/readyz', '/metrics'),
      query: fc.dictionary(hostileString, hostileString, { maxKeys: 2 }),
      method: fc.oneof({ weight: 6, arbitrary: fc.constant('GET') }, { weight: 1, arbitrary: fc.constantFrom('POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH') }),
      accept: fc.oneof(fc.constant(undefined), fc.constantFrom('application/openmetrics-text; version=1.0.0', 'application/openmetrics-text; version=junk', 'text/plain;version=0.0.4', '*/*;q=junk'), hostileString),
      address: clientAddress,
    })
    .map((r) => request('health', { method: r.method, path: `${r.path}?${queryString(r.query)}`, headers: { accept: r.accept }, address: r.address }));
}

/** Every /api/v1 operation in the OpenAPI document, with real and hostile ids, queries, bodies and credentials. */
export function apiRequests(context: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const { api } = context;
  const pathParam = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...api.ids) }, { weight: 2, arbitrary: fc.uuid() }, { weight: 2, arbitrary: encoded }, { weight: 1, arbitrary: fc.constantFrom('echo', 'tools_echo') });
  const authorization = fc.oneof({ weight: 10, arbitrary: fc.constant<string | undefined>(`Bearer ${api.key}`) }, { weight: 1, arbitrary: fc.constantFrom(undefined, 'Bearer ', 'Bearer ghk_junk', `Basic ${api.key}`, 'Bearer \u00ff\u00fe') }, { weight: 1, arbitrary: hostileString.map((value) => `Bearer ${value}`) });
  const operations = api.operations.map((operation) =>
    fc
      .record({
        method: fc.oneof({ weight: 10, arbitrary: fc.constant(operation.method) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS') }),
        params: fc.array(pathParam, { minLength: 4, maxLength: 4 }),
        query: fc.tuple(fc.record(Object.fromEntries(Object.entries(operation.query).map(([name, schema]) => [name, schemaValue(schema, api.components)])), { requiredKeys: [] }), fc.dictionary(hostileString, hostileString, { maxKeys: 2 })),
        body: operation.body
          ? fc.oneof({ weight: 8, arbitrary: schemaValue(operation.body, api.components).map((value) => JSON.stringify(value) ?? 'null') }, { weight: 1, arbitrary: malformedJsonText })
          : fc.oneof({ weight: 4, arbitrary: fc.constant<string | undefined>(undefined) }, { weight: 1, arbitrary: hostileJson.map((value) => JSON.stringify(value) ?? 'null') }),
        contentType: jsonContentType,
        authorization,
        address: clientAddress,
        encoding: bodyEncodings,
      })
      .map((r) => {
        let index = 0;
        const path = operation.path.replace(/\{[^}]+\}/g, () => r.params[index++]!);
        const query = queryString({ ...r.query[1], ...r.query[0] });
        return request('api', {
          method: r.method,
          path: query ? `${path}?${query}` : path,
          headers: { authorization: r.authorization, ...(r.body !== undefined ? { 'content-type': r.contentType } : {}) },
          ...(r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD' ? { body: r.body } : {}),
          address: r.address,
          encoding: r.encoding,
        });
      }),
  );
  return fc.oneof(...operations);
}

/** Paths no route serves, methods no route takes, and bodies over every limit, at every door. */
export function junkRequests(context: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const path = fc.oneof(
    fc.constantFrom('/', '/api', '/api/v1', '/api/v2/connections', '/admin', '/oauth', '/oauth/', '/mcp/', '/mcp/x', '/MCP', '//mcp', '/api/v1/connections/', '/api/docs-json', '/api/docs', `/${'a'.repeat(8_000)}`, '/%', '/%zz/..', '/..%2f..%2fetc%2fpasswd', '/api/v1/connections/%00', '/oauth/token/', '/oauth/authorize/x'),
    encoded.map((segment) => `/${segment}`),
    fc.tuple(fc.constantFrom('/mcp', '/oauth/token', '/oauth/register', '/oauth/authorize', '/api/v1/connections', '/api/v1/policies'), encoded).map(([base, rest]) => `${base}/${rest}`),
  );
  const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'PROPFIND', 'FOO', 'TRACE', 'M-SEARCH');
  const oversized = fc
    .record({
      path: fc.constantFrom('/mcp', '/oauth/token', '/oauth/register', '/oauth/authorize', '/oauth/sign-in', '/api/v1/connections', '/api/v1/policies'),
      contentType: fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain'),
      address: clientAddress,
    })
    .map((r) =>
      request('junk', {
        method: 'POST',
        path: r.path,
        headers: { 'content-type': r.contentType, authorization: `Bearer ${context.api.key}` },
        body: r.contentType === 'application/json' ? `{"a":"${'x'.repeat(context.maxBodyBytes)}"}` : `a=${'x'.repeat(context.maxBodyBytes)}`,
        address: r.address,
      }),
    );
  const stray = fc
    .record({ path, method, body: fc.option(malformedJsonText, { nil: undefined }), contentType: jsonContentType, authorization: fc.constantFrom(undefined, `Bearer ${context.api.key}`), address: clientAddress })
    .map((r) => request('junk', { method: r.method, path: r.path, headers: { 'content-type': r.contentType, authorization: r.authorization }, ...(r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD' ? { body: r.body } : {}), address: r.address }));
  return fc.oneof({ weight: 6, arbitrary: stray }, { weight: 1, arbitrary: oversized });
}
