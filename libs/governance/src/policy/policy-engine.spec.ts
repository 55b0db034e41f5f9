import { policyRuleSchema } from '@gatehouse/config';
import { AUDITOR_DEFAULT, CompiledPolicy, PATTERN_BUDGET_DENIAL, PolicyResource, PolicyRule, PolicySubject } from './policy-engine';

const rule = (spec: unknown, id = 'r'): PolicyRule => ({ id, ...policyRuleSchema.parse(spec) });

const subject = (overrides: Partial<PolicySubject> = {}): PolicySubject => ({
  role: 'member',
  userEmail: 'bob@acme.test',
  apiKeyName: 'bob-agent',
  clientId: null,
  clientName: null,
  viaOAuth: false,
  ...overrides,
});

const tool = (name: string, annotations: PolicyResource['annotations'] = {}): PolicyResource => ({
  connection: name.split('_')[0]!,
  tool: name,
  annotations,
});

const READ = { readOnlyHint: true };
const WRITE = {};
const DESTRUCTIVE = { destructiveHint: true };

describe('CompiledPolicy', () => {
  const contractorsReadOnly = rule({ name: 'contractors-read-only', match: { roles: ['contractor'], toolClass: ['write', 'destructive'] }, effect: 'deny' });
  const linearCreate = rule({
    name: 'linear-create-needs-approval',
    match: { tools: ['linear-prod_create_*'] },
    effect: 'require_approval',
    approval: { approverRoles: ['admin'], approvals: 2, expiresIn: '30m' },
  });

  it('lets contractors read and denies them writes, naming the rule', () => {
    const policy = new CompiledPolicy(1, 'allow', [contractorsReadOnly], []);
    const contractor = subject({ role: 'contractor' });
    expect(policy.decide(contractor, tool('linear-prod_search', READ), {})).toEqual({ effect: 'allow', rule: { id: null, name: 'default' } });
    expect(policy.decide(contractor, tool('linear-prod_update', WRITE), {})).toEqual({ effect: 'deny', rule: { id: 'r', name: 'contractors-read-only' } });
    expect(policy.listing(contractor, tool('linear-prod_update', WRITE))).toEqual({ listed: false, rule: { id: 'r', name: 'contractors-read-only' } });
    expect(policy.decide(subject(), tool('linear-prod_update', WRITE), {}).effect).toBe('allow');
  });

  it('requires approval by glob, with the rule\'s settings, and lists the tool saying so', () => {
    const policy = new CompiledPolicy(1, 'allow', [linearCreate], []);
    const decision = policy.decide(subject(), tool('linear-prod_create_issue'), {});
    expect(decision).toEqual({
      effect: 'require_approval',
      rule: { id: 'r', name: 'linear-create-needs-approval' },
      approval: { approverRoles: ['admin'], approvals: 2, expiresIn: 1800 },
    });
    expect(policy.listing(subject(), tool('linear-prod_create_issue'))).toEqual({ listed: true, approval: decision.effect === 'require_approval' && decision.approval });
  });

  it('orders deny over approval over allow, whatever the rules\' order', () => {
    const allowAll = rule({ name: 'allow-all', effect: 'allow' }, 'a');
    const deny = rule({ name: 'no-create', match: { tools: ['*_create_*'] }, effect: 'deny' }, 'd');
    const policy = new CompiledPolicy(1, 'deny', [allowAll, linearCreate, deny], []);
    expect(policy.decide(subject(), tool('linear-prod_create_issue'), {}).rule.name).toBe('no-create');
    expect(new CompiledPolicy(1, 'deny', [allowAll, linearCreate], []).decide(subject(), tool('linear-prod_create_issue'), {}).effect).toBe('require_approval');
    expect(new CompiledPolicy(1, 'deny', [allowAll], []).decide(subject(), tool('linear-prod_create_issue'), {}).effect).toBe('allow');
  });

  it('gives auditors no tools, whatever a rule allows, and refuses a rule naming them as approvers', () => {
    const allowAuditors = rule({ name: 'auditors-may', match: { roles: ['auditor'] }, effect: 'allow' });
    const policy = new CompiledPolicy(1, 'allow', [allowAuditors], []);
    const auditor = subject({ role: 'auditor' });
    expect(policy.decide(auditor, tool('x_search', READ), {})).toEqual({ effect: 'deny', rule: AUDITOR_DEFAULT });
    expect(policy.listing(auditor, tool('x_search', READ))).toEqual({ listed: false, rule: AUDITOR_DEFAULT });
    expect(() => rule({ name: 'a', effect: 'require_approval', approval: { approverRoles: ['admin', 'auditor'] } })).toThrow(/auditors .* cannot decide/);
  });

  it('falls back to the organization default', () => {
    expect(new CompiledPolicy(1, 'deny', [], []).decide(subject(), tool('x_y', READ), {})).toEqual({ effect: 'deny', rule: { id: null, name: 'default' } });
    expect(new CompiledPolicy(1, 'deny', [], []).listing(subject(), tool('x_y', READ)).listed).toBe(false);
  });

  it('requires approval for tools marked destructive unless a rule says otherwise', () => {
    const policy = new CompiledPolicy(1, 'allow', [], []);
    expect(policy.decide(subject(), tool('db_drop_table', DESTRUCTIVE), {})).toMatchObject({ effect: 'require_approval', rule: { name: 'default:destructive-requires-approval' } });
    const allowDrops = rule({ name: 'dba-may-drop', match: { users: ['bob@acme.test'], tools: ['db_drop_*'] }, effect: 'allow' });
    expect(new CompiledPolicy(1, 'allow', [allowDrops], []).decide(subject(), tool('db_drop_table', DESTRUCTIVE), {}).effect).toBe('allow');
    // Unannotated tools are writes, not destructive.
    expect(policy.decide(subject(), tool('db_insert', WRITE), {}).effect).toBe('allow');
  });

  it('denies OAuth clients the sensitive Gatehouse tools unless a rule allows them, and holds none of its own tools by default', () => {
    const policy = new CompiledPolicy(1, 'allow', [], []);
    const createConnection: PolicyResource = { connection: 'gatehouse', tool: 'gatehouse_create_connection', annotations: { openWorldHint: true }, builtIn: true, sensitive: true };
    const approve: PolicyResource = { connection: 'gatehouse', tool: 'gatehouse_approve_request', annotations: DESTRUCTIVE, builtIn: true, sensitive: true };
    const assistant = subject({ viaOAuth: true, clientName: 'Claude' });
    for (const resource of [createConnection, approve]) {
      expect(policy.decide(assistant, resource, {})).toMatchObject({ effect: 'deny', rule: { name: 'default:no-oauth-administration' } });
      expect(policy.listing(assistant, resource)).toMatchObject({ listed: false });
      // An API key is not an assistant reading tool results; Gatehouse's own destructive tools are not held.
      expect(policy.decide(subject(), resource, {}).effect).toBe('allow');
    }
    const allowClaude = rule({ name: 'claude-may-administer', match: { clients: ['Claude'], tools: ['gatehouse_*'] }, effect: 'allow' });
    expect(new CompiledPolicy(1, 'allow', [allowClaude], []).decide(assistant, createConnection, {}).effect).toBe('allow');
    const holdIt = rule({ name: 'hold-connections', match: { tools: ['gatehouse_create_connection'] }, effect: 'require_approval' });
    expect(new CompiledPolicy(1, 'allow', [holdIt], []).decide(subject(), createConnection, {}).effect).toBe('require_approval');
  });

  it('matches subjects by role, user, API key and OAuth client', () => {
    const byKey = rule({ name: 'ci-only', match: { apiKeys: ['ci'] }, effect: 'deny' });
    const byClient = rule({ name: 'no-chatgpt', match: { clients: ['ChatGPT'] }, effect: 'deny' });
    const policy = new CompiledPolicy(1, 'allow', [byKey, byClient], []);
    expect(policy.decide(subject({ apiKeyName: 'ci' }), tool('a_b', READ), {}).effect).toBe('deny');
    expect(policy.decide(subject({ clientName: 'ChatGPT', clientId: 'abc' }), tool('a_b', READ), {}).effect).toBe('deny');
    expect(policy.decide(subject({ clientName: 'Claude', clientId: 'xyz' }), tool('a_b', READ), {}).effect).toBe('allow');
  });

  it('decides on argument values (equals, in, matches) and keeps such tools listed', () => {
    const prodOnly = rule({
      name: 'prod-deploys-need-approval',
      match: { tools: ['deploy_run'], arguments: [{ path: 'target.env', equals: 'prod' }] },
      effect: 'require_approval',
    });
    const badTeams = rule({ name: 'no-finance', match: { arguments: [{ path: 'team', in: ['finance', 'legal'] }] }, effect: 'deny' });
    const noSecrets = rule({ name: 'no-secret-paths', match: { arguments: [{ path: 'path', matches: '^/etc/' }] }, effect: 'deny' });
    const policy = new CompiledPolicy(1, 'allow', [prodOnly, badTeams, noSecrets], []);
    expect(policy.decide(subject(), tool('deploy_run'), { target: { env: 'prod' } }).effect).toBe('require_approval');
    expect(policy.decide(subject(), tool('deploy_run'), { target: { env: 'staging' } }).effect).toBe('allow');
    expect(policy.decide(subject(), tool('tickets_create'), { team: 'legal' }).rule.name).toBe('no-finance');
    expect(policy.decide(subject(), tool('files_read', READ), { path: '/etc/passwd' }).rule.name).toBe('no-secret-paths');
    expect(policy.decide(subject(), tool('files_read', READ), { path: '/home/x' }).effect).toBe('allow');
    expect(policy.listing(subject(), tool('files_read', READ))).toEqual({ listed: true, approval: null });
  });

  it('lists a tool denied by default when an argument-dependent rule may allow it', () => {
    const someTeams = rule({ name: 'support-tickets', match: { tools: ['tickets_create'], arguments: [{ path: 'team', equals: 'support' }] }, effect: 'allow' });
    const policy = new CompiledPolicy(1, 'deny', [someTeams], []);
    expect(policy.listing(subject(), tool('tickets_create')).listed).toBe(true);
    expect(policy.decide(subject(), tool('tickets_create'), { team: 'sales' }).effect).toBe('deny');
  });

  it('classifies by annotations unless an admin override says otherwise', () => {
    const policy = new CompiledPolicy(1, 'allow', [contractorsReadOnly], [{ tools: 'search_*', class: 'read' }, { tools: 'db_query', class: 'destructive' }]);
    expect([...policy.classify(tool('search_docs', WRITE))]).toEqual(['read']);
    expect([...policy.classify(tool('db_query', READ))]).toEqual(['write', 'destructive']);
    expect([...policy.classify(tool('web_fetch', { readOnlyHint: true, openWorldHint: true }))]).toEqual(['read', 'open_world']);
    expect(policy.decide(subject({ role: 'contractor' }), tool('search_docs', WRITE), {}).effect).toBe('allow');
  });

  it('matches pathological tool globs and argument patterns in linear time', () => {
    const glob = '*a*a*a*a*a*a*a*a*b';
    const hostileName = tool(`x_${'a'.repeat(60)}`);
    const denyGlob = rule({ name: 'glob', match: { tools: [glob] }, effect: 'deny' });
    const denyPattern = rule({ name: 'pattern', match: { arguments: [{ path: 'q', matches: '(a+)+$' }] }, effect: 'deny' });
    const policy = new CompiledPolicy(1, 'allow', [denyGlob, denyPattern], [{ tools: glob, class: 'destructive' }]);
    // With backtracking matching these took seconds to hours; the test timeout is the assertion.
    expect(policy.decide(subject(), hostileName, { q: `${'a'.repeat(40)}!` })).toEqual({ effect: 'allow', rule: { id: null, name: 'default' } });
    expect(policy.listing(subject(), hostileName)).toEqual({ listed: true, approval: null });
    expect([...policy.classify(hostileName)]).toEqual(['write']);
    expect(policy.decide(subject(), tool(`x_${'a'.repeat(8)}b`), {}).rule.name).toBe('glob');
    expect([...policy.classify(tool(`x_${'a'.repeat(8)}b`))]).toEqual(['write', 'destructive']);
    expect(policy.decide(subject(), tool('x_y'), { q: 'aaa' }).rule.name).toBe('pattern');
  });

  it('refuses a call whose arguments cost more to match than a decision may spend (fail closed)', () => {
    const allowSmall = rule({ name: 'short-queries', match: { arguments: [{ path: 'q', matches: '(?s)^.*a.{16}$' }] }, effect: 'allow' });
    const policy = new CompiledPolicy(1, 'deny', [allowSmall], []);
    expect(policy.decide(subject(), tool('x_y'), { q: `${'b'.repeat(20)}a${'b'.repeat(16)}` }).effect).toBe('allow');
    expect(policy.decide(subject(), tool('x_y'), { q: 'ab'.repeat(200_000) })).toEqual({ effect: 'deny', rule: PATTERN_BUDGET_DENIAL });
  });

  it('refuses to apply a stored rule whose pattern RE2 cannot run, naming the rule', () => {
    const stored: PolicyRule = { id: 'old', name: 'legacy', effect: 'deny', match: { arguments: [{ path: 'a', matches: '(?!x)' }] } };
    expect(() => new CompiledPolicy(1, 'allow', [stored], [])).toThrow(/Policy rule "legacy" has a pattern RE2 cannot run \(lookahead/);
  });

  it('refuses malformed rules with a precise message', () => {
    expect(() => policyRuleSchema.parse({ name: 'x', effect: 'allow', approval: { approvals: 1 } })).toThrow(/only a require_approval rule/);
    expect(() => policyRuleSchema.parse({ name: 'x', effect: 'deny', match: { arguments: [{ path: 'a', equals: 1, in: [1] }] } })).toThrow(/exactly one of/);
    expect(() => policyRuleSchema.parse({ name: 'x', effect: 'deny', match: { arguments: [{ path: 'a', matches: '(' }] } })).toThrow(/valid regular expression/);
    expect(() => policyRuleSchema.parse({ name: 'x', effect: 'maybe' })).toThrow();
  });
  describe('prompts and resources', () => {
    const prompt = (name: string): PolicyResource => ({ kind: 'prompt', connection: name.split('_')[0]!, tool: name, annotations: undefined });
    const resource = (uri: string, connection = 'docs'): PolicyResource => ({ kind: 'resource', connection, tool: uri, annotations: undefined });

    it('keeps a rule without kinds a tool rule', () => {
      const denyAll = rule({ name: 'deny-contractors', match: { roles: ['contractor'] }, effect: 'deny' });
      const policy = new CompiledPolicy(1, 'allow', [denyAll], []);
      const contractor = subject({ role: 'contractor' });
      expect(policy.decide(contractor, tool('docs_search', READ), {}).effect).toBe('deny');
      expect(policy.decide(contractor, prompt('docs_summary'), {}).effect).toBe('allow');
      expect(policy.decide(contractor, resource('ui://docs/a.html'), {}).effect).toBe('allow');
    });

    it('matches prompts and resources by their own name lists, which imply their kind', () => {
      const policy = new CompiledPolicy(
        1,
        'allow',
        [
          rule({ name: 'no-secret-prompt', match: { prompts: ['docs_secret*'] }, effect: 'deny' }),
          rule({ name: 'no-private-files', match: { resources: ['file://docs/private/*'] }, effect: 'deny' }),
        ],
        [],
      );
      expect(policy.decide(subject(), prompt('docs_secret-plan'), {})).toEqual({ effect: 'deny', rule: { id: 'r', name: 'no-secret-prompt' } });
      expect(policy.listing(subject(), prompt('docs_secret-plan')).listed).toBe(false);
      expect(policy.decide(subject(), prompt('docs_summary'), {}).effect).toBe('allow');
      expect(policy.decide(subject(), tool('docs_secret-plan', READ), {}).effect).toBe('allow');
      expect(policy.decide(subject(), resource('file://docs/private/x'), {}).effect).toBe('deny');
      expect(policy.decide(subject(), resource('file://docs/public/x'), {}).effect).toBe('allow');
    });

    it('applies kinds to every kind named, and the organization default to prompts and resources', () => {
      const policy = new CompiledPolicy(1, 'deny', [rule({ name: 'members-read', match: { kinds: ['prompt', 'resource'], roles: ['member'] }, effect: 'allow' })], []);
      expect(policy.decide(subject(), prompt('docs_summary'), {}).effect).toBe('allow');
      expect(policy.decide(subject(), resource('ui://docs/a'), {}).effect).toBe('allow');
      expect(policy.decide(subject({ role: 'contractor' }), resource('ui://docs/a'), {})).toEqual({ effect: 'deny', rule: { id: null, name: 'default' } });
      expect(policy.decide(subject(), tool('docs_search', READ), {}).effect).toBe('deny');
    });

    it('denies auditors prompts and resources as it denies them tools', () => {
      const policy = new CompiledPolicy(1, 'allow', [], []);
      expect(policy.decide(subject({ role: 'auditor' }), prompt('docs_summary'), {})).toEqual({ effect: 'deny', rule: AUDITOR_DEFAULT });
      expect(policy.listing(subject({ role: 'auditor' }), resource('ui://docs/a'))).toEqual({ listed: false, rule: AUDITOR_DEFAULT });
    });

    it('classifies prompts and resources as read whatever the tool class overrides say', () => {
      const policy = new CompiledPolicy(1, 'allow', [], [{ tools: '*', class: 'destructive' }]);
      expect([...policy.classify(prompt('docs_summary'))]).toEqual(['read']);
      expect([...policy.classify(resource('ui://docs/a'))]).toEqual(['read']);
    });

    it('refuses rules that would surprise: approval on a read, a name list outside the kinds, a kind without its list', () => {
      expect(() => rule({ name: 'x', match: { prompts: ['a_*'] }, effect: 'require_approval' })).toThrow(/tool calls only/);
      expect(() => rule({ name: 'x', match: { kinds: ['resource'] }, effect: 'require_approval' })).toThrow(/tool calls only/);
      expect(() => rule({ name: 'x', match: { kinds: ['tool'], prompts: ['a_*'] }, effect: 'deny' })).toThrow(/so kinds must include/);
      expect(() => rule({ name: 'x', match: { kinds: ['tool', 'prompt'], tools: ['a_*'] }, effect: 'deny' })).toThrow(/no prompts/);
      expect(() => rule({ name: 'x', match: { resources: ['has space'] }, effect: 'deny' })).toThrow(/resource URI glob/);
      expect(rule({ name: 'x', match: { tools: ['a_*'] }, effect: 'require_approval' }).effect).toBe('require_approval');
    });
  });
});
