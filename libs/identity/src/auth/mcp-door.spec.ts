import { doorRefusal, mcpDoorOf } from './mcp-door';

describe('mcpDoorOf', () => {
  it('reads /mcp and /mcp/<endpoint>, and nothing else as a door', () => {
    expect(mcpDoorOf({ originalUrl: '/mcp' })).toBeNull();
    expect(mcpDoorOf({ originalUrl: '/mcp/?x=1' })).toBeNull();
    expect(mcpDoorOf({ originalUrl: '/mcp/github-ro' })).toBe('github-ro');
    for (const path of ['/mcp/..', '/mcp/a%2Fb', '/mcp/Github', `/mcp/${'a'.repeat(33)}`, '/mcp/a/b', '/mcp/%ZZ', '/api/v1/mcp']) {
      expect(mcpDoorOf({ originalUrl: path })).toBeUndefined();
    }
  });
});

describe('doorRefusal', () => {
  const bound = { name: 'x', id: 'e1' };
  it('keeps endpoint credentials at their endpoint and OAuth grants for /mcp at /mcp', () => {
    expect(doorRefusal({ kind: 'api_key', endpoint: bound }, { kind: 'mcp', endpoint: 'x' })).toBeNull();
    expect(doorRefusal({ kind: 'api_key', endpoint: bound }, { kind: 'mcp', endpoint: null })).toMatch(/endpoint "x" only/);
    expect(doorRefusal({ kind: 'api_key', endpoint: bound }, { kind: 'mcp', endpoint: 'y' })).toMatch(/endpoint "x" only/);
    expect(doorRefusal({ kind: 'api_key', endpoint: bound }, { kind: 'admin' })).toMatch(/admin API/);
    expect(doorRefusal({ kind: 'oauth', endpoint: bound }, { kind: 'mcp', endpoint: 'x' })).toBeNull();
    expect(doorRefusal({ kind: 'oauth', endpoint: null }, { kind: 'mcp', endpoint: 'x' })).toMatch(/issued for \/mcp/);
    expect(doorRefusal({ kind: 'oauth', endpoint: null }, { kind: 'mcp', endpoint: null })).toBeNull();
    expect(doorRefusal({ kind: 'api_key', endpoint: null }, { kind: 'mcp', endpoint: 'x' })).toBeNull();
    expect(doorRefusal({ kind: 'api_key', endpoint: null }, { kind: 'admin' })).toBeNull();
  });
});
