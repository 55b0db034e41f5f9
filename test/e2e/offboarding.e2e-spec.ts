import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { apiRequest } from '../support/admin-api';
import { BrowserPage, TestBrowser } from '../support/browser';
import { query } from '../support/database';
import { insertPersonalKey } from '../support/personal-key';
import { startGateway, TestGateway, waitUntilConnected } from '../support/gateway';
import { connectClient, listAllTools, textOf } from '../support/mcp-client';
import { codeFrom, OAuthFlow, signInAndApprove } from '../support/oauth-flow';
import { RunningOidcProvider, startOidcProvider } from '../support/oidc-provider';
import { fixtureStdioYaml, freePort } from '../support/servers';
import { waitFor } from '../support/wait';
import { startReceiver, WebhookReceiver } from '../support/webhooks';

jest.setTimeout(180_000);

const KEYS = {
  root: 'ghk_test_offboarding_acme_root_0001',
  owner: 'ghk_test_offboarding_acme_owner_002',
  agent: 'ghk_test_offboarding_acme_agent_003',
  globex: 'ghk_test_offboarding_globex_adm_004',
  initechRoot: 'ghk_test_offboarding_initech_r1_05',
  initechRoot2: 'ghk_test_offboarding_initech_r2_06',
  initechAgent: 'ghk_test_offboarding_initech_ag_07',
};
// Keys people hold themselves. No route lets a signed-in person create one yet (the dashboard will): the suite
// stores them as such a route would, and everything after that goes through the product.
const PERSONAL = {
  alice: 'ghk_test_offboarding_alice_personal1',
  bob: 'ghk_test_offboarding_bob_personal_01',
  mona: 'ghk_test_offboarding_mona_personal_1',
  carol: 'ghk_test_offboarding_carol_personal1',
};
const CAROL = { email: 'carol@acme.test', password: 'carol-password-offboarding' };
const OIDC_SECRET = 'offboarding-oidc-secret';

interface Member {
  userId: string;
  email: string;
  role: string;
  configManaged: boolean;
}

interface Approval {
  id: string;
  status: string;
  approvals: number;
  arguments: Record<string, unknown>;
  argumentsHash: string;
  result: { content: { type: string; text: string }[]; isError?: boolean } | null;
}

interface Problem {
  status: number;
  detail: string;
}

const yaml = (idpPort: number, marker: string, hooks: string, carol: 'admin' | 'member' | null) => `
organizations:
  - slug: acme
    name: Acme
    members:
${carol ? `      - { email: ${CAROL.email}, role: ${carol}, passwordEnv: CAROL_PASSWORD }` : '      []'}
    apiKeys:
      - { name: root, role: admin, secretEnv: ROOT }
      - { name: owner, role: owner, secretEnv: OWNER }
      - { name: agent, role: member, secretEnv: AGENT }
    connections:
      - ${fixtureStdioYaml('tools', { FIXTURE_MARKER: marker })}
    identityProvider:
      issuer: http://127.0.0.1:${idpPort}
      clientId: gatehouse
      clientSecretEnv: OIDC_SECRET
      allowedDomains: [acme.test]
      groupsClaim: groups
      roleMap: { owners: owner, admins: admin }
      defaultRole: member
    audit: { redactPaths: ["$.text"] }
    webhooks:
      - { name: approvals, url: "${hooks}", secretEnv: HOOK_SECRET, events: [approval.created, approval.decided] }
    policies:
      - name: contractors-never-write
        description: contractors do not write notes
        match: { roles: [contractor], tools: [tools_write_note] }
        effect: deny
      - name: notes-need-approval
        match: { tools: [tools_write_note] }
        effect: require_approval
        approval: { approverRoles: [owner, admin], approvals: 1, expiresIn: 1h }
      - name: loud-echo-needs-two
        match: { tools: [tools_echo], arguments: [{ path: text, matches: "^LOUD" }] }
        effect: require_approval
        approval: { approverRoles: [owner, admin], approvals: 2, expiresIn: 1h }
      # The people's assistants here administer what their person may (they granted mcp:admin when signing in).
      - name: assistants-administer
        match: { tools: [gatehouse_create_connection, gatehouse_approve_request, gatehouse_deny_request] }
        effect: allow
  - slug: globex
    name: Globex
    apiKeys:
      - { name: admin, role: owner, secretEnv: GLOBEX }
  - slug: initech
    name: Initech
    keyApprovals: true
    apiKeys:
      - { name: root, role: admin, secretEnv: INITECH_ROOT }
      - { name: root2, role: admin, secretEnv: INITECH_ROOT2 }
      - { name: agent, role: member, secretEnv: INITECH_AGENT }
    connections:
      - ${fixtureStdioYaml('tools')}
    policies:
      - name: loud-echo-needs-two
        match: { tools: [tools_echo], arguments: [{ path: text, matches: "^LOUD" }] }
        effect: require_approval
        approval: { approverRoles: [admin], approvals: 2, expiresIn: 1h }
`;

// What the people's assistants ask for: tools, and administration (granted where the person may).
const ADMINISTRATION = 'mcp:read mcp:write mcp:admin';

const VARS = {
  ROOT: KEYS.root,
  OWNER: KEYS.owner,
  AGENT: KEYS.agent,
  GLOBEX: KEYS.globex,
  INITECH_ROOT: KEYS.initechRoot,
  INITECH_ROOT2: KEYS.initechRoot2,
  INITECH_AGENT: KEYS.initechAgent,
  CAROL_PASSWORD: CAROL.password,
  OIDC_SECRET,
  HOOK_SECRET: 'offboarding-hook-secret',
};

// Offboarding and separation of duties, across two replicas of one deployment: a credential holds no more than
// the person (or root key) behind it holds now, removing a person revokes what they hold, approvals count
// people, and an approved call is checked again when it runs.
describe('offboarding and separation of duties', () => {
  let a: TestGateway;
  let b: TestGateway;
  let idp: RunningOidcProvider;
  let receiver: WebhookReceiver;
  let marker: string;
  let idpPort: number;
  const tokens: Record<string, string> = {};
  const clients: Client[] = [];

  const api = <T>(gateway: TestGateway, token: string, method: string, path: string, body?: unknown) => apiRequest<T>(gateway.baseUrl, token, method, path, body);
  const connect = async (gateway: TestGateway, token: string) => {
    const client = await connectClient(gateway.mcpUrl, token);
    clients.push(client);
    return client;
  };
  const toolNames = async (client: Client) => (await listAllTools(client)).map((tool) => tool.name);
  const members = async () => (await api<Member[]>(a, KEYS.root, 'GET', '/api/v1/members')).body;
  const userId = async (email: string) => (await members()).find((member) => member.email === email)!.userId;
  const requestIdOf = (text: string) => /Request ([0-9a-f-]{36}) sent to/.exec(text)?.[1] ?? '';
  const approval = async (id: string) => (await api<Approval>(a, KEYS.owner, 'GET', `/api/v1/approvals/${id}`)).body;
  const downstreamWrites = () => (existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter((line) => line === 'call:write_note').length : 0);

  /** An OAuth access token for someone the identity provider signs in (provisioned on first sign-in). */
  const signInThroughIdp = async (login: string) => {
    const flows = new OAuthFlow(a.baseUrl, a.mcpUrl);
    const flow = await flows.start({ scope: ADMINISTRATION }, new TestBrowser(a.baseUrl, [idp.issuer]));
    const offered = (await (flow.landed as BrowserPage).fill('Email', `${login}@acme.test`).click('Continue')) as BrowserPage;
    const atProvider = (await offered.follow('Continue with Acme')) as BrowserPage;
    const consent = (await atProvider.fill('Username', login).click('Sign in at the identity provider')) as BrowserPage;
    // Admins are offered administration and grant it; others are not offered it.
    if (consent.labels().some((label) => label.startsWith('Also let it administer'))) consent.check('Also let it administer Acme for you');
    const exchanged = await flows.exchange({ ...flow, code: codeFrom(await consent.click('Approve')) });
    expect(exchanged.status).toBe(200);
    return exchanged.body['access_token']!;
  };

  /** A person's own API key (see PERSONAL). */
  const personalKey = (email: string, secret: string, role: string) => insertPersonalKey(a.databaseUrl, { organization: 'acme', email, secret, role });

  beforeAll(async () => {
    marker = join(mkdtempSync(join(tmpdir(), 'gatehouse-offboarding-')), 'marks');
    receiver = await startReceiver();
    idpPort = await freePort();
    a = await startGateway({ yaml: yaml(idpPort, marker, receiver.url, 'admin'), vars: VARS });
    b = await startGateway({ yaml: yaml(idpPort, marker, receiver.url, 'admin'), vars: VARS, databaseUrl: a.databaseUrl, redisPrefix: a.redisPrefix });
    await Promise.all([waitUntilConnected(a, ['tools']), waitUntilConnected(b, ['tools'])]);
    idp = await startOidcProvider({
      port: idpPort,
      users: {
        olga: { email: 'olga@acme.test', email_verified: true, groups: ['owners'] },
        alice: { email: 'alice@acme.test', email_verified: true, groups: ['admins'] },
        bob: { email: 'bob@acme.test', email_verified: true, groups: ['admins'] },
        mona: { email: 'mona@acme.test', email_verified: true },
        dave: { email: 'dave@acme.test', email_verified: true },
        erin: { email: 'erin@acme.test', email_verified: true },
      },
      client: { client_id: 'gatehouse', client_secret: OIDC_SECRET, redirect_uris: [`${a.baseUrl}/oauth/sso/callback`] },
    });
    for (const login of ['olga', 'alice', 'bob', 'mona', 'dave', 'erin']) tokens[login] = await signInThroughIdp(login);
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await Promise.allSettled([a?.close(), b?.close()]);
    await idp?.stop();
    await receiver?.stop();
  });

  it('lists members and changes them only within the rules', async () => {
    const listed = await members();
    expect(listed.map(({ email, role, configManaged }) => ({ email, role, configManaged }))).toEqual([
      { email: 'alice@acme.test', role: 'admin', configManaged: false },
      { email: 'bob@acme.test', role: 'admin', configManaged: false },
      { email: CAROL.email, role: 'admin', configManaged: true },
      { email: 'dave@acme.test', role: 'member', configManaged: false },
      { email: 'erin@acme.test', role: 'member', configManaged: false },
      { email: 'mona@acme.test', role: 'member', configManaged: false },
      { email: 'olga@acme.test', role: 'owner', configManaged: false },
    ]);
    const [alice, olga, carol] = [await userId('alice@acme.test'), await userId('olga@acme.test'), await userId(CAROL.email)];

    // Another organization's key: nothing of Acme's is there to see or change.
    expect((await api<Member[]>(a, KEYS.globex, 'GET', '/api/v1/members')).body).toEqual([]);
    expect((await api(a, KEYS.globex, 'PUT', `/api/v1/members/${alice}`, { role: 'member' })).status).toBe(404);
    expect((await api(a, KEYS.globex, 'DELETE', `/api/v1/members/${alice}`)).status).toBe(404);

    // Member and contractor keys manage no one.
    const contractor = await api<{ secret: string }>(a, KEYS.root, 'POST', '/api/v1/api-keys', { name: 'contractor-script', role: 'contractor' });
    for (const token of [KEYS.agent, contractor.body.secret]) {
      expect((await api(a, token, 'GET', '/api/v1/members')).status).toBe(403);
      expect((await api(a, token, 'PUT', `/api/v1/members/${alice}`, { role: 'contractor' })).status).toBe(403);
      expect((await api(a, token, 'DELETE', `/api/v1/members/${alice}`)).status).toBe(403);
    }

    // An admin manages up to their own role: no owner is made, changed or removed by one.
    const promote = await api<Problem>(a, KEYS.root, 'PUT', `/api/v1/members/${alice}`, { role: 'owner' });
    expect(promote.status).toBe(403);
    expect(promote.body.detail).toMatch(/only an owner/);
    expect((await api(a, KEYS.root, 'PUT', `/api/v1/members/${olga}`, { role: 'member' })).status).toBe(403);
    expect((await api(a, KEYS.root, 'DELETE', `/api/v1/members/${olga}`)).status).toBe(403);

    // The last owner stays an owner, whoever asks.
    for (const [method, body] of [['DELETE', undefined], ['PUT', { role: 'admin' }]] as const) {
      const lastOwner = await api<Problem>(a, KEYS.owner, method, `/api/v1/members/${olga}`, body);
      expect(lastOwner.status).toBe(409);
      expect(lastOwner.body.detail).toMatch(/last owner/);
    }

    // The config file's memberships are changed in the file.
    for (const [method, body] of [['DELETE', undefined], ['PUT', { role: 'member' }]] as const) {
      const managed = await api<Problem>(a, KEYS.owner, method, `/api/v1/members/${carol}`, body);
      expect(managed.status).toBe(409);
      expect(managed.body.detail).toMatch(/config file/);
    }

    expect((await api(a, KEYS.root, 'PUT', `/api/v1/members/${alice}`, { role: 'superuser' })).status).toBe(400);
    expect((await api(a, KEYS.root, 'PUT', '/api/v1/members/not-a-uuid', { role: 'member' })).status).toBe(400);
    expect((await api(a, KEYS.root, 'PUT', '/api/v1/members/00000000-0000-4000-8000-000000000000', { role: 'member' })).status).toBe(404);
    expect(await members()).toEqual(listed);

    // Refusals are audited like other admin changes.
    const refused = await query<{ outcome: string }>(a.databaseUrl, "SELECT outcome FROM audit_records WHERE kind = 'admin.member.updated' AND target->>'id' = $1", [alice]);
    expect(refused.map((row) => row.outcome)).toEqual(expect.arrayContaining(['denied']));
  });

  it('takes admin rights from a demoted admin’s key, minted keys and OAuth grant at their next call, on the other replica too', async () => {
    const alice = await userId('alice@acme.test');
    const personal = await personalKey('alice@acme.test', PERSONAL.alice, 'admin');
    // A key minted by Alice's key is Alice's too, and says which key minted it.
    const minted = await api<{ id: string; secret: string; createdById: string; createdByKeyId: string }>(b, PERSONAL.alice, 'POST', '/api/v1/api-keys', {
      name: 'alice-script',
      role: 'admin',
    });
    expect(minted.status).toBe(201);
    expect(minted.body).toMatchObject({ createdById: alice, createdByKeyId: personal });

    // Both replicas have the credentials cached as admin.
    for (const gateway of [a, b]) {
      for (const token of [PERSONAL.alice, minted.body.secret]) expect((await api(gateway, token, 'GET', '/api/v1/members')).status).toBe(200);
    }
    const viaB = await connect(b, tokens['alice']!);
    expect(await toolNames(viaB)).toContain('gatehouse_create_connection');

    const demoted = await api<Member>(a, KEYS.root, 'PUT', `/api/v1/members/${alice}`, { role: 'member' });
    expect(demoted.status).toBe(200);
    expect(demoted.body).toMatchObject({ userId: alice, role: 'member' });

    for (const gateway of [b, a]) {
      for (const token of [PERSONAL.alice, minted.body.secret]) expect((await api(gateway, token, 'GET', '/api/v1/members')).status).toBe(403);
    }
    expect(await toolNames(viaB)).not.toContain('gatehouse_create_connection');
    const create = await viaB.callTool({ name: 'gatehouse_create_connection', arguments: { name: 'by-alice', transport: 'http', url: 'http://127.0.0.1:9/mcp' } });
    expect(textOf(create)).toMatch(/^Permission denied/);
    const recorded = await query<{ outcome: string }>(a.databaseUrl, "SELECT outcome FROM audit_records WHERE kind = 'admin.member.updated' AND target->>'id' = $1 AND outcome = 'success'", [alice]);
    expect(recorded).toHaveLength(1);

    // Promoted above her key's role, Alice's key keeps its own (the lower of the two).
    expect((await api(a, KEYS.owner, 'PUT', `/api/v1/members/${alice}`, { role: 'owner' })).status).toBe(200);
    expect((await api(b, PERSONAL.alice, 'GET', '/api/v1/members')).status).toBe(200);
    const escalate = await api<Problem>(b, PERSONAL.alice, 'POST', '/api/v1/api-keys', { name: 'owner-key', role: 'owner' });
    expect(escalate.status).toBe(403);
    expect(escalate.body.detail).toMatch(/exceeds your role \(admin\)/);

    // Signing in again through the identity provider brings her role back in step with her groups.
    await signInThroughIdp('alice');
    expect((await members()).find((member) => member.userId === alice)?.role).toBe('admin');
  });

  it('applies a demotion made in the config file, re-applied by a booting replica, on the running replicas at their next call', async () => {
    const carolToken = (await new OAuthFlow(a.baseUrl, a.mcpUrl).tokensFor(CAROL, { scope: ADMINISTRATION, administration: 'Acme' })).body['access_token']!;
    tokens['carol'] = carolToken;
    await personalKey(CAROL.email, PERSONAL.carol, 'admin');
    for (const gateway of [a, b]) expect((await api(gateway, PERSONAL.carol, 'GET', '/api/v1/members')).status).toBe(200);
    const carolOnA = await connect(a, carolToken);
    expect(await toolNames(carolOnA)).toContain('gatehouse_create_connection');

    const booted = await startGateway({ yaml: yaml(idpPort, marker, receiver.url, 'member'), vars: VARS, databaseUrl: a.databaseUrl, redisPrefix: a.redisPrefix });
    try {
      for (const gateway of [a, b]) expect((await api(gateway, PERSONAL.carol, 'GET', '/api/v1/members')).status).toBe(403);
      expect(await toolNames(carolOnA)).not.toContain('gatehouse_create_connection');
      expect((await members()).find((member) => member.email === CAROL.email)).toMatchObject({ role: 'member', configManaged: true });
    } finally {
      await booted.close();
    }
  });

  it('revokes a removed member’s keys and OAuth grant at once, on every replica, through the API and the config file', async () => {
    const mona = await userId('mona@acme.test');
    const personal = await personalKey('mona@acme.test', PERSONAL.mona, 'member');
    const monaOnA = await connect(a, tokens['mona']!);
    expect(await toolNames(monaOnA)).toContain('tools_echo');
    expect((await api(a, PERSONAL.mona, 'GET', '/api/v1/connections')).status).toBe(200);

    const removed = await api<{ email: string; revokedKeyIds: string[] }>(b, KEYS.root, 'DELETE', `/api/v1/members/${mona}`);
    expect(removed.status).toBe(200);
    expect(removed.body.email).toBe('mona@acme.test');
    expect(removed.body.revokedKeyIds).toHaveLength(2);
    expect(removed.body.revokedKeyIds).toContain(personal);

    for (const gateway of [a, b]) expect((await api(gateway, PERSONAL.mona, 'GET', '/api/v1/connections')).status).toBe(401);
    await expect(monaOnA.listTools()).rejects.toMatchObject({ code: 401 });
    await expect(connectClient(b.mcpUrl, tokens['mona']!)).rejects.toMatchObject({ code: 401 });
    const keys = await api<{ id: string; revokedAt: string | null }[]>(a, KEYS.root, 'GET', '/api/v1/api-keys');
    for (const id of removed.body.revokedKeyIds) expect(keys.body.find((key) => key.id === id)?.revokedAt).toEqual(expect.any(String));
    expect((await members()).map((member) => member.email)).not.toContain('mona@acme.test');

    // Taken out of the config file: the same, applied by a replica that boots with the new file.
    const carolOnB = await connect(b, tokens['carol']!);
    expect(await toolNames(carolOnB)).toContain('tools_echo');
    const booted = await startGateway({ yaml: yaml(idpPort, marker, receiver.url, null), vars: VARS, databaseUrl: a.databaseUrl, redisPrefix: a.redisPrefix });
    try {
      for (const gateway of [a, b]) expect((await api(gateway, PERSONAL.carol, 'GET', '/api/v1/connections')).status).toBe(401);
      await expect(carolOnB.listTools()).rejects.toMatchObject({ code: 401 });
      const revoked = await query<{ kind: string }>(
        a.databaseUrl,
        "SELECT k.kind::text AS kind FROM api_keys k JOIN users u ON u.id = k.created_by_id WHERE u.email = $1 AND k.revoked_at IS NOT NULL ORDER BY kind",
        [CAROL.email],
      );
      expect(revoked.map((row) => row.kind)).toEqual(['api_key', 'oauth_grant']);
    } finally {
      await booted.close();
    }
  });

  it('counts people, not credentials: one person’s keys and clients decide once, never on their own request', async () => {
    await personalKey('bob@acme.test', PERSONAL.bob, 'admin');
    const bobMinted = (await api<{ secret: string }>(a, PERSONAL.bob, 'POST', '/api/v1/api-keys', { name: 'bob-script', role: 'admin' })).body.secret;
    const agent = await connect(a, KEYS.agent);
    const id = requestIdOf(textOf(await agent.callTool({ name: 'tools_echo', arguments: { text: 'LOUD two people please' } })));
    expect(id).not.toBe('');

    expect((await api<Approval>(a, PERSONAL.bob, 'POST', `/api/v1/approvals/${id}/approve`, {})).body).toMatchObject({ status: 'pending', approvals: 1 });
    const again = await api<Problem>(b, bobMinted, 'POST', `/api/v1/approvals/${id}/approve`, {});
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(/already decided/);
    const viaClient = await (await connect(b, tokens['bob']!)).callTool({ name: 'gatehouse_approve_request', arguments: { id } });
    expect(textOf(viaClient)).toMatch(/already decided/);

    // A key with no person behind it does not decide here (the organization has not allowed keyApprovals).
    for (const key of [KEYS.root, KEYS.owner]) {
      const personless = await api<Problem>(a, key, 'POST', `/api/v1/approvals/${id}/approve`, {});
      expect(personless.status).toBe(403);
      expect(personless.body.detail).toMatch(/no person behind it/);
    }
    expect(await approval(id)).toMatchObject({ status: 'pending', approvals: 1 });

    const second = await (await connect(a, tokens['alice']!)).callTool({ name: 'gatehouse_approve_request', arguments: { id } });
    expect((JSON.parse(textOf(second)) as { approval: Approval }).approval).toMatchObject({ status: 'approved', approvals: 2 });
    await waitFor('the 2-of-N call to run', async () => (await approval(id)).status === 'executed');

    // Bob's own request: none of his credentials approves it.
    const own = requestIdOf(textOf(await (await connect(a, tokens['bob']!)).callTool({ name: 'tools_write_note', arguments: { text: 'bob asks' } })));
    const self = await api<Problem>(a, bobMinted, 'POST', `/api/v1/approvals/${own}/approve`, {});
    expect(self.status).toBe(403);
    expect(self.body.detail).toBe('Nobody approves their own request, whichever key or client they use');
  });

  it('counts a chain of keys with no person as its root key, where the organization lets keys decide', async () => {
    const mint = async (name: string) => (await api<{ secret: string }>(a, KEYS.initechRoot, 'POST', '/api/v1/api-keys', { name, role: 'admin' })).body.secret;
    const [first, second] = [await mint('minted-1'), await mint('minted-2')];
    const agent = await connect(a, KEYS.initechAgent);
    const id = requestIdOf(textOf(await agent.callTool({ name: 'tools_echo', arguments: { text: 'LOUD keys' } })));
    expect((await api<Approval>(a, first, 'POST', `/api/v1/approvals/${id}/approve`, {})).body).toMatchObject({ status: 'pending', approvals: 1 });
    for (const key of [second, KEYS.initechRoot]) {
      const same = await api<Problem>(b, key, 'POST', `/api/v1/approvals/${id}/approve`, {});
      expect(same.status).toBe(409);
      expect(same.body.detail).toMatch(/already decided/);
    }
    expect((await api<Approval>(a, KEYS.initechRoot2, 'POST', `/api/v1/approvals/${id}/approve`, {})).body).toMatchObject({ status: 'approved', approvals: 2 });
  });

  it('does not run an approved call whose requester was removed, or may no longer make it, and says why', async () => {
    const before = downstreamWrites();
    const dave = await connect(a, tokens['dave']!);
    const removedId = requestIdOf(textOf(await dave.callTool({ name: 'tools_write_note', arguments: { text: 'from dave' } })));
    const erin = await connect(a, tokens['erin']!);
    const demotedId = requestIdOf(textOf(await erin.callTool({ name: 'tools_write_note', arguments: { text: 'from erin' } })));
    expect([removedId, demotedId]).not.toContain('');

    expect((await api(a, KEYS.root, 'DELETE', `/api/v1/members/${await userId('dave@acme.test')}`)).status).toBe(200);
    expect((await api(a, KEYS.root, 'PUT', `/api/v1/members/${await userId('erin@acme.test')}`, { role: 'contractor' })).status).toBe(200);
    const alice = await connect(b, tokens['alice']!);
    for (const id of [removedId, demotedId]) {
      const decided = JSON.parse(textOf(await alice.callTool({ name: 'gatehouse_approve_request', arguments: { id } }))) as { approval: Approval };
      expect(decided.approval.status).toBe('approved');
    }

    const removed = await waitFor('the removed requester’s call to end', async () => ((await approval(removedId)).status === 'failed' ? approval(removedId) : null));
    expect(removed.result?.content[0]?.text).toMatch(/^The approved call was not made: the credential that requested it no longer works/);
    const demoted = await waitFor('the demoted requester’s call to end', async () => ((await approval(demotedId)).status === 'failed' ? approval(demotedId) : null));
    expect(demoted.result?.content[0]?.text).toBe(
      'The approved call was not made: the requester may not make it any more: contractors do not write notes (policy rule "contractors-never-write").',
    );
    expect(downstreamWrites()).toBe(before);

    // Audited as calls refused, each pointing back to its request.
    const outcomes = await query<{ approval_id: string; outcome: string; rule: string }>(
      a.databaseUrl,
      "SELECT data->>'approvalId' AS approval_id, outcome, data->'rule'->>'name' AS rule FROM audit_records WHERE kind = 'tools.call.outcome' AND data->>'approvalId' = ANY($1)",
      [[removedId, demotedId]],
    );
    expect(outcomes.filter((row) => row.outcome === 'denied').map(({ approval_id, rule }) => ({ approval_id, rule }))).toEqual(
      expect.arrayContaining([
        { approval_id: removedId, rule: 'requester-no-longer-authenticates' },
        { approval_id: demotedId, rule: 'contractors-never-write' },
      ]),
    );
  });

  it('shows held arguments redacted as the audit log redacts them, in the API, the tools and webhooks, and runs them exactly', async () => {
    const secret = 'launch codes 0000';
    const agent = await connect(a, KEYS.agent);
    const id = requestIdOf(textOf(await agent.callTool({ name: 'tools_write_note', arguments: { text: secret } })));
    const shown = await approval(id);
    expect(shown.arguments['text']).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(shown.argumentsHash).toBe(createHash('sha256').update(JSON.stringify({ text: secret })).digest('hex'));
    const listed = (await api<Approval[]>(a, KEYS.owner, 'GET', '/api/v1/approvals')).body.find((item) => item.id === id)!;
    const viaTool = JSON.parse(textOf(await agent.callTool({ name: 'gatehouse_get_approval', arguments: { id } }))) as { approval: Approval };
    for (const view of [listed, viaTool.approval]) expect(view.arguments).toEqual(shown.arguments);
    // The same value the audit log keeps for the call, so the two correlate.
    const [requested] = await query<{ text: string }>(
      a.databaseUrl,
      "SELECT data->'arguments'->>'text' AS text FROM audit_records WHERE kind = 'tools.call.request' AND call_id = (SELECT call_id FROM audit_records WHERE kind = 'tools.call.outcome' AND data->>'approvalId' = $1 LIMIT 1)",
      [id],
    );
    expect(requested?.text).toBe(shown.arguments['text']);

    const bob = await connect(a, tokens['bob']!);
    await bob.callTool({ name: 'gatehouse_approve_request', arguments: { id } });
    const done = await waitFor('the approved call to run', async () => ((await approval(id)).status === 'executed' ? approval(id) : null));
    expect(done.result?.content[0]?.text).toBe(`wrote: ${secret}`);
    const [stored] = await query<{ arguments: unknown }>(a.databaseUrl, 'SELECT arguments FROM approval_requests WHERE id = $1', [id]);
    expect(stored?.arguments).toEqual({ text: secret });

    const hooks = await waitFor('both webhook events', () => {
      const mine = receiver.deliveries.filter((delivery) => delivery.body.includes(id));
      return mine.length >= 2 ? mine : null;
    });
    for (const hook of hooks) {
      expect(hook.body).not.toContain(secret);
      expect((JSON.parse(hook.body) as { data: { approval: Approval } }).data.approval.arguments).toEqual(shown.arguments);
    }
  });
});
