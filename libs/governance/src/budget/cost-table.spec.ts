import { CostTable } from './cost-table';

describe('CostTable', () => {
  const table = new CostTable([
    { connection: 'linear-prod', tool: null, perCallMicros: 10_000n },
    { connection: 'linear-prod', tool: 'create_issue', perCallMicros: 50_000n },
    { connection: 'github', tool: 'search', perCallMicros: 0n },
    { connection: 'github', tool: 'create_pr', perCallMicros: 20_000n },
  ]);

  it('prefers the tool over the connection over zero', () => {
    expect(table.costOf('linear-prod', 'create_issue')).toBe(50_000n);
    expect(table.costOf('linear-prod', 'list_issues')).toBe(10_000n);
    expect(table.costOf('github', 'create_pr')).toBe(20_000n);
    expect(table.costOf('github', 'list_repos')).toBe(0n);
    expect(table.costOf('slack', 'post')).toBe(0n);
  });

  it('lets a tool be free on a paid connection', () => {
    const free = new CostTable([
      { connection: 'fx', tool: null, perCallMicros: 100_000n },
      { connection: 'fx', tool: 'count', perCallMicros: 0n },
    ]);
    expect(free.costOf('fx', 'count')).toBe(0n);
    expect(free.costOf('fx', 'echo')).toBe(100_000n);
  });
});
