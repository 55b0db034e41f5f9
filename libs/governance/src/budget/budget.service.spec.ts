import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import type { BudgetRepository, CostRow, RedisService, StoredBudget, UsageEntry, UsageRepository } from '@gatehouse/db';
import type { Principal } from '@gatehouse/identity';
import type { WebhookService } from '../webhook/webhook.service';
import { BudgetAlerts } from './budget-alerts.service';
import { BudgetCounters } from './budget-counters';
import type { BudgetSettings } from './budget-settings.service';
import { BudgetDecision, BudgetService } from './budget.service';
import { CostTable } from './cost-table';
import type { UsageRecorder } from './usage.recorder';

// BudgetService with its repositories replaced, over a real Redis (the counters are its Lua scripts).
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `gh_unit_${randomBytes(4).toString('hex')}`;
const client = new Redis(REDIS_URL);

const principal: Principal = {
  kind: 'api_key',
  subject: 'api_key:k1',
  organizationId: '00000000-0000-4000-8000-000000000001',
  organizationSlug: 'acme',
  role: 'member',
  access: 'read_write',
  administration: true,
  apiKeyId: '00000000-0000-4000-8000-0000000000k1',
  userId: 'u1',
  userEmail: 'Bob@Acme.test',
  rootKeyId: null,
  clientId: null,
  client: null,
  endpoint: null,
  name: 'ci-agent',
};

let ids = 0;
function budget(fields: Partial<StoredBudget> & Pick<StoredBudget, 'scope' | 'period' | 'limitMicros'>): StoredBudget {
  return { id: `budget-${prefix}-${++ids}`, scopeRef: '', alertAt: [0.8, 1], configManaged: false, ...fields };
}

function setup(budgets: StoredBudget[], costs: CostRow[] = [{ connection: 'linear-prod', tool: null, perCallMicros: 100_000n }], spent = async () => 0n) {
  const recorded: UsageEntry[] = [];
  const alerts: { budgetId: string; threshold: number; period: string }[] = [];
  const emitted: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  const settings = { forOrganization: async () => ({ costs: new CostTable(costs), budgets }), budgets: async () => budgets } as unknown as BudgetSettings;
  const usage = { spent: jest.fn(spent) } as unknown as UsageRepository;
  const recorder = { record: (entry: UsageEntry) => recorded.push(entry), flush: async () => undefined } as unknown as UsageRecorder;
  const budgetRepository = {
    recordAlert: async (_organizationId: string, budgetId: string, periodStart: Date, threshold: number) => {
      const key = `${budgetId}|${periodStart.toISOString()}|${threshold}`;
      if (seen.has(key)) return null;
      seen.add(key);
      alerts.push({ budgetId, threshold, period: periodStart.toISOString() });
      return `alert-${seen.size}`;
    },
  } as unknown as BudgetRepository;
  const webhooks = { emit: async (_organizationId: string, _type: string, data: Record<string, unknown>) => emitted.push(data) } as unknown as WebhookService;
  const counters = new BudgetCounters({ client, key: (...parts: string[]) => [prefix, ...parts].join(':') } as unknown as RedisService);
  const service = new BudgetService(settings, counters, usage, recorder, new BudgetAlerts(budgetRepository, webhooks));
  return { service, recorded, alerts, emitted, usage };
}

const call = { principal, connection: 'linear-prod', tool: 'create_issue' };
const blockedMessage = (decision: BudgetDecision) => (decision.blocked ? decision.message : null);
const settleAll = (decisions: BudgetDecision[]) => Promise.all(decisions.map((d) => (d.blocked ? undefined : d.reservation.settle('ok'))));
const tick = () => new Promise((resolve) => setImmediate(resolve));

beforeAll(() => Logger.overrideLogger(false));

afterAll(async () => {
  const keys = await client.keys(`${prefix}:*`);
  if (keys.length) await client.del(...keys);
  await client.quit();
});

describe('BudgetService', () => {
  it('blocks with the exact message of the budget that would be passed, naming the narrower ones', async () => {
    const at = new Date('2026-11-30T10:00:00Z');
    const cases: [StoredBudget, string][] = [
      [budget({ scope: 'organization', period: 'month', limitMicros: 100_000_000n }), 'Operation blocked: monthly budget limit reached ($100.00)'],
      [budget({ scope: 'organization', period: 'day', limitMicros: 2_500_000n }), 'Operation blocked: daily budget limit reached ($2.50)'],
      [
        budget({ scope: 'connection', scopeRef: 'linear-prod', period: 'day', limitMicros: 5_000_000n }),
        'Operation blocked: daily budget limit of connection "linear-prod" reached ($5.00)',
      ],
      [budget({ scope: 'member', scopeRef: 'bob@acme.test', period: 'month', limitMicros: 20_000_000n }), 'Operation blocked: monthly budget limit of member "bob@acme.test" reached ($20.00)'],
      [budget({ scope: 'api_key', scopeRef: 'ci-agent', period: 'day', limitMicros: 1_000_000n }), 'Operation blocked: daily budget limit of API key "ci-agent" reached ($1.00)'],
    ];
    for (const [limit, message] of cases) {
      const { service } = setup([limit], [{ connection: 'linear-prod', tool: null, perCallMicros: limit.limitMicros / 2n }]);
      await settleAll([await service.reserve(call, at), await service.reserve(call, at)]);
      expect(blockedMessage(await service.reserve(call, at))).toBe(message);
    }
  });

  it('leaves out budgets of other connections, members and keys', async () => {
    const others = [
      budget({ scope: 'connection', scopeRef: 'github', period: 'day', limitMicros: 1n }),
      budget({ scope: 'member', scopeRef: 'alice@acme.test', period: 'day', limitMicros: 1n }),
      budget({ scope: 'api_key', scopeRef: 'another-key', period: 'day', limitMicros: 1n }),
    ];
    const { service } = setup(others);
    expect((await service.reserve(call)).blocked).toBe(false);
  });

  it('never blocks or counts a free call', async () => {
    const limit = budget({ scope: 'organization', period: 'month', limitMicros: 1n });
    const { service, recorded } = setup([limit], [{ connection: 'linear-prod', tool: 'create_issue', perCallMicros: 0n }]);
    const decision = await service.reserve(call);
    expect(decision.blocked).toBe(false);
    if (!decision.blocked) await decision.reservation.settle('ok');
    expect(recorded[0]).toMatchObject({ costMicros: 0n, outcome: 'ok', tool: 'create_issue' });
    expect(await client.keys(`${prefix}:budget:*:${limit.id}:*`)).toEqual([]);
  });

  it('charges a settled call, gives back a released one, and records both', async () => {
    const limit = budget({ scope: 'organization', period: 'day', limitMicros: 200_000n });
    const { service, recorded } = setup([limit]);
    const first = await service.reserve(call);
    const second = await service.reserve(call);
    expect(blockedMessage(await service.reserve(call))).toContain('daily budget limit');
    if (first.blocked || second.blocked) throw new Error('expected reservations');
    await first.reservation.settle('tool_error');
    await second.reservation.release('timeout');
    await second.reservation.release('timeout'); // ends once
    expect((await service.reserve(call)).blocked).toBe(false);
    expect(recorded.map(({ costMicros, outcome, userEmail, apiKeyId }) => ({ costMicros, outcome, userEmail, apiKeyId }))).toEqual([
      { costMicros: 100_000n, outcome: 'tool_error', userEmail: 'Bob@Acme.test', apiKeyId: principal.apiKeyId },
      { costMicros: 0n, outcome: 'timeout', userEmail: 'Bob@Acme.test', apiKeyId: principal.apiKeyId },
    ]);
  });

  it('starts a new period at midnight UTC: the roll-over, with an injected clock', async () => {
    const monthly = budget({ scope: 'organization', period: 'month', limitMicros: 1_000_000n });
    const { service, usage } = setup([monthly], [{ connection: 'linear-prod', tool: null, perCallMicros: 400_000n }]);
    const january = new Date('2027-01-31T23:59:59.900Z');
    await settleAll([await service.reserve(call, january), await service.reserve(call, january)]);
    expect(blockedMessage(await service.reserve(call, january))).toBe('Operation blocked: monthly budget limit reached ($1.00)');
    const february = new Date('2027-02-01T00:00:00.000Z');
    expect((await service.reserve(call, february)).blocked).toBe(false);
    // Each period's counter was built from that period's usage records only.
    expect((usage.spent as jest.Mock).mock.calls.map(([, , , range]) => range)).toEqual([
      { from: new Date('2027-01-01T00:00:00Z'), to: new Date('2027-02-01T00:00:00Z') },
      { from: new Date('2027-02-01T00:00:00Z'), to: new Date('2027-03-01T00:00:00Z') },
    ]);
    const overview = await service.overview(principal.organizationId, february);
    expect(overview.budgets[0]!.current).toMatchObject({ period: '2027-02', spentUsd: 0.4, spentMicros: 400_000 });
  });

  it('starts from what the usage records say was spent when the counter is missing', async () => {
    const monthly = budget({ scope: 'member', scopeRef: 'bob@acme.test', period: 'month', limitMicros: 1_000_000n });
    const { service, usage } = setup([monthly], undefined, async () => 950_000n);
    expect(blockedMessage(await service.reserve(call))).toBe('Operation blocked: monthly budget limit of member "bob@acme.test" reached ($1.00)');
    expect((usage.spent as jest.Mock).mock.calls[0]!.slice(1, 3)).toEqual(['member', 'bob@acme.test']);
  });

  it('alerts once per threshold crossed, and at 100% when a call is blocked short of the limit', async () => {
    const limit = budget({ scope: 'organization', period: 'month', limitMicros: 1_000_000n, alertAt: [0.5, 0.8, 1] });
    const { service, alerts, emitted } = setup([limit], [{ connection: 'linear-prod', tool: null, perCallMicros: 300_000n }]);
    const decisions = await Promise.all(Array.from({ length: 6 }, () => service.reserve(call)));
    await tick();
    expect(decisions.filter((d) => !d.blocked)).toHaveLength(3);
    expect(alerts.map((alert) => alert.threshold)).toEqual([0.5, 0.8, 1]);
    expect(emitted.at(-1)).toMatchObject({ threshold: 1, blocked: true, spentMicros: 900_000, budget: { scope: 'organization', limitUsd: 1 } });
    await Promise.all(Array.from({ length: 3 }, () => service.reserve(call)));
    await tick();
    expect(alerts).toHaveLength(3);
  });
});
