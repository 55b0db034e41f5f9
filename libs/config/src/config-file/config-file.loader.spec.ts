import { ConfigFileError, parseConfigFile } from './config-file.loader';

const env = { TOKEN: 'secret-token', KEY: 'k'.repeat(24), SHORT: 'too-short' };

function problem(yaml: string): string {
  try {
    parseConfigFile('gatehouse.yaml', yaml, env);
  } catch (error) {
    if (error instanceof ConfigFileError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigFileError');
}

describe('parseConfigFile', () => {
  it('parses a file, applies defaults and substitutes ${ENV}', () => {
    const { config, secrets } = parseConfigFile(
      'gatehouse.yaml',
      `
organizations:
  - slug: acme
    name: Acme
    members: [{ email: Alice@Acme.test, role: admin }]
    apiKeys: [{ name: ci, role: member, secretEnv: KEY }]
    connections:
      - { name: linear-prod, transport: http, url: "https://mcp.example/mcp", headers: { Authorization: "Bearer \${TOKEN}" } }
`,
      env,
    );
    const [acme] = config.organizations;
    expect(acme!.members[0]!.email).toBe('alice@acme.test');
    expect(acme!.apiKeys[0]!.access).toBe('read_write');
    expect(acme!.connections[0]).toMatchObject({
      headers: { Authorization: 'Bearer secret-token' },
      callTimeoutMs: 60_000,
      enabled: true,
      args: [],
    });
    expect(secrets.get('KEY')).toBe(env.KEY);
  });

  it('reads OAuth settings and local account passwords', () => {
    const { config, secrets } = parseConfigFile(
      'gatehouse.yaml',
      `
oauth: { accessTokenTtl: 15m, redirectUriAllowlist: ["https://*.acme.test/callback", "http://127.0.0.1:*/*"] }
organizations:
  - { slug: acme, name: Acme, members: [{ email: alice@acme.test, role: admin, passwordEnv: KEY }] }
`,
      env,
    );
    expect(config.oauth).toEqual({ accessTokenTtl: 900, redirectUriAllowlist: ['https://*.acme.test/callback', 'http://127.0.0.1:*/*'] });
    expect(secrets.get('KEY')).toBe(env.KEY);
  });

  it('reads costs, budgets and webhooks, with their defaults and the webhook secret', () => {
    const { config, secrets } = parseConfigFile(
      'gatehouse.yaml',
      `
organizations:
  - slug: acme
    name: Acme
    costs:
      - { connection: linear-prod, perCallUsd: 0.01 }
      - { connection: linear-prod, tool: create_issue, perCallUsd: 0.05 }
    budgets:
      - { scope: organization, period: month, limitUsd: 100 }
      - { scope: member, member: Bob@Acme.test, period: month, limitUsd: 20, alertAt: [1, 0.5] }
      - { scope: api_key, apiKey: ci-agent, period: day, limitUsd: 1 }
    webhooks:
      - { name: finance, url: "https://hooks.example/gatehouse", secretEnv: KEY, events: [budget.alert] }
`,
      env,
    );
    const [acme] = config.organizations;
    expect(acme!.costs).toEqual([
      { connection: 'linear-prod', perCallUsd: 0.01 },
      { connection: 'linear-prod', tool: 'create_issue', perCallUsd: 0.05 },
    ]);
    expect(acme!.budgets![0]).toEqual({ scope: 'organization', period: 'month', limitUsd: 100, alertAt: [0.8, 1] });
    expect(acme!.budgets![1]).toMatchObject({ member: 'bob@acme.test', alertAt: [0.5, 1] });
    expect(acme!.webhooks[0]).toMatchObject({ name: 'finance', events: ['budget.alert'] });
    expect(secrets.get('KEY')).toBe(env.KEY);
  });

  it('caps what a downstream sends by default; the deadline is five minutes or the idle timeout if longer', () => {
    const { config } = parseConfigFile(
      'gatehouse.yaml',
      `
organizations:
  - slug: acme
    name: Acme
    connections:
      - { name: plain, transport: stdio, command: node }
      - { name: patient, transport: stdio, command: node, callTimeoutMs: 600000 }
      - { name: tight, transport: stdio, command: node, callTimeoutMs: 1000, callDeadlineMs: 1000, maxReplyBytes: 1024, maxStderrLineBytes: 256 }
`,
      env,
    );
    const [plain, patient, tight] = config.organizations[0]!.connections;
    expect(plain).toMatchObject({ callDeadlineMs: 300_000, maxReplyBytes: 16 * 1024 * 1024, maxSseEventBytes: 16 * 1024 * 1024, maxStderrLineBytes: 4096 });
    expect(patient!.callDeadlineMs).toBe(600_000);
    expect(tight).toMatchObject({ callTimeoutMs: 1000, callDeadlineMs: 1000, maxReplyBytes: 1024, maxStderrLineBytes: 256 });
  });

  it('accepts an empty file', () => {
    expect(parseConfigFile('empty.yaml', '', env).config.organizations).toEqual([]);
  });

  it.each([
    ['unknown field', 'organizations: [{ slug: a, name: A, colour: red }]', 'gatehouse.yaml: organizations[0]: unknown field colour'],
    [
      'underscore in a connection name',
      'organizations: [{ slug: a, name: A, connections: [{ name: my_conn, transport: stdio, command: node }] }]',
      'gatehouse.yaml: organizations[0].connections[0].name: must be 1-32 characters',
    ],
    [
      'reserved connection name',
      'organizations: [{ slug: a, name: A, connections: [{ name: gatehouse, transport: stdio, command: node }] }]',
      'organizations[0].connections[0].name: is reserved',
    ],
    [
      'missing url for http',
      'organizations: [{ slug: a, name: A, connections: [{ name: x, transport: http }] }]',
      'organizations[0].connections[0].url: is required for http',
    ],
    ['missing ${VAR}', 'organizations: [{ slug: a, name: "${NOPE}" }]', 'organizations[0].name: environment variable NOPE is not set'],
    [
      'missing secretEnv',
      'organizations: [{ slug: a, name: A, apiKeys: [{ name: k, role: admin, secretEnv: ABSENT }] }]',
      'organizations[0].apiKeys[0].secretEnv: environment variable ABSENT is not set',
    ],
    ['duplicate slugs', 'organizations: [{ slug: a, name: A }, { slug: a, name: B }]', 'organizations[1]: duplicate organization slug "a"'],
    ['YAML syntax', 'organizations: [ { slug: a', 'gatehouse.yaml: line 1'],
    ['bad role', 'organizations: [{ slug: a, name: A, members: [{ email: x@y.test, role: god }] }]', 'organizations[0].members[0].role'],
    [
      'missing passwordEnv',
      'organizations: [{ slug: a, name: A, members: [{ email: x@y.test, role: admin, passwordEnv: NO_PASSWORD }] }]',
      'organizations[0].members[0].passwordEnv: environment variable NO_PASSWORD is not set',
    ],
    ['short password', 'organizations: [{ slug: a, name: A, members: [{ email: x@y.test, role: admin, passwordEnv: SHORT }] }]', 'SHORT must hold at least 12 characters'],
    ['bad duration', 'oauth: { accessTokenTtl: 60 }', 'oauth.accessTokenTtl'],
    [
      'budget without what it applies to',
      'organizations: [{ slug: a, name: A, budgets: [{ scope: connection, period: day, limitUsd: 5 }] }]',
      'organizations[0].budgets[0].connection: is required for a connection budget',
    ],
    [
      'organization budget naming a member',
      'organizations: [{ slug: a, name: A, budgets: [{ scope: organization, member: x@y.test, period: day, limitUsd: 5 }] }]',
      'organizations[0].budgets[0].member: only a member budget takes member',
    ],
    [
      'alert threshold above 100%',
      'organizations: [{ slug: a, name: A, budgets: [{ scope: organization, period: day, limitUsd: 5, alertAt: [1.5] }] }]',
      'organizations[0].budgets[0].alertAt[0]: must be at most 1',
    ],
    ['zero limit', 'organizations: [{ slug: a, name: A, budgets: [{ scope: organization, period: day, limitUsd: 0 }] }]', 'budgets[0].limitUsd: must be more than 0'],
    [
      'duplicate budget',
      'organizations: [{ slug: a, name: A, budgets: [{ scope: organization, period: month, limitUsd: 5 }, { scope: organization, period: month, limitUsd: 6 }] }]',
      'organizations[0].budgets[1]: duplicate monthly organization budget',
    ],
    [
      'price finer than a micro-dollar',
      'organizations: [{ slug: a, name: A, costs: [{ connection: x, perCallUsd: 0.0000001 }] }]',
      'organizations[0].costs[0].perCallUsd: must have at most 6 decimal places',
    ],
    [
      'duplicate price',
      'organizations: [{ slug: a, name: A, costs: [{ connection: x, tool: t, perCallUsd: 1 }, { connection: x, tool: t, perCallUsd: 2 }] }]',
      'organizations[0].costs[1]: duplicate cost for tool "t" of connection "x"',
    ],
    [
      'missing webhook secretEnv',
      'organizations: [{ slug: a, name: A, webhooks: [{ name: w, url: "https://h.example/", secretEnv: ABSENT, events: [budget.alert] }] }]',
      'organizations[0].webhooks[0].secretEnv: environment variable ABSENT is not set',
    ],
    [
      'unknown webhook event',
      'organizations: [{ slug: a, name: A, webhooks: [{ name: w, url: "https://h.example/", secretEnv: KEY, events: [budget.spent] }] }]',
      'organizations[0].webhooks[0].events[0]',
    ],
    [
      'deadline shorter than the idle timeout',
      'organizations: [{ slug: a, name: A, connections: [{ name: x, transport: stdio, command: node, callTimeoutMs: 5000, callDeadlineMs: 4999 }] }]',
      'organizations[0].connections[0].callDeadlineMs: must be at least callTimeoutMs (5000)',
    ],
    [
      'reply cap above 256 MiB',
      'organizations: [{ slug: a, name: A, connections: [{ name: x, transport: stdio, command: node, maxReplyBytes: 268435457 }] }]',
      'organizations[0].connections[0].maxReplyBytes',
    ],
    [
      'stderr line cap below 256 bytes',
      'organizations: [{ slug: a, name: A, connections: [{ name: x, transport: stdio, command: node, maxStderrLineBytes: 255 }] }]',
      'organizations[0].connections[0].maxStderrLineBytes',
    ],
    ['redirect pattern over plain http', 'oauth: { redirectUriAllowlist: ["http://app.example/cb"] }', 'oauth.redirectUriAllowlist[0]: redirect URI pattern must use https'],
  ])('names the file, path and problem: %s', (_case, yaml, expected) => {
    expect(problem(yaml)).toContain(expected);
  });
});
