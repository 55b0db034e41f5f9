import type { Request } from 'express';
import { isStatelessRequest, readStatelessRequest, StatelessRefusal } from './stateless-envelope';

const META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
  'io.modelcontextprotocol/clientInfo': { name: 'unit', version: '1' },
};

function request(body: unknown, headers: Record<string, string> = {}): Request {
  return { body, headers: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value])) } as unknown as Request;
}

const read = (method: string, params: Record<string, unknown>, headers: Record<string, string>) =>
  readStatelessRequest(request({ jsonrpc: '2.0', id: 1, method, params: { _meta: META, ...params } }, { 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': method, ...headers }));

function refusal(run: () => unknown): { status: number; code: number } {
  try {
    run();
  } catch (error) {
    if (error instanceof StatelessRefusal) return { status: error.status, code: error.code };
    throw error;
  }
  throw new Error('not refused');
}

describe('the 2026-07-28 envelope', () => {
  it('routes by version, never a session or a 2025 initialize', () => {
    expect(isStatelessRequest(request({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25' } }))).toBe(false);
    expect(isStatelessRequest(request({}, { 'MCP-Protocol-Version': '2026-07-28' }))).toBe(true);
    expect(isStatelessRequest(request({}, { 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Session-Id': 'abc' }))).toBe(false);
    expect(isStatelessRequest(request({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } } }))).toBe(true);
    expect(isStatelessRequest(request({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'MCP-Protocol-Version': '2025-11-25' }))).toBe(false);
  });

  it('reads the request, its capabilities and log level, and the name header trimmed or base64-encoded', () => {
    const call = read('tools/call', { name: 'wiki_search', _meta: { ...META, 'io.modelcontextprotocol/logLevel': 'warning' } }, { 'Mcp-Name': ' wiki_search ' });
    expect(call).toEqual(expect.objectContaining({ id: 1, method: 'tools/call', capabilities: { elicitation: { form: {} } }, logLevel: 'warning', clientInfo: { name: 'unit', version: '1' } }));
    const uri = 'file:///réport.txt';
    expect(read('resources/read', { uri }, { 'Mcp-Name': `=?base64?${Buffer.from(uri).toString('base64')}?=` }).params['uri']).toBe(uri);
  });

  it('refuses in the revision’s order and codes', () => {
    expect(refusal(() => read('tools/call', { name: 'a' }, { 'Mcp-Name': 'b' }))).toEqual({ status: 400, code: -32020 });
    expect(refusal(() => read('resources/read', { uri: 'file:///a' }, {}))).toEqual({ status: 400, code: -32020 });
    expect(refusal(() => read('tools/list', {}, { 'Mcp-Method': 'TOOLS/LIST' }))).toEqual({ status: 400, code: -32020 });
    expect(refusal(() => read('tools/list', { _meta: { ...META, 'io.modelcontextprotocol/logLevel': 'loud' } }, {}))).toEqual({ status: 400, code: -32602 });
    expect(refusal(() => read('tools/list', { _meta: { ...META, 'io.modelcontextprotocol/clientCapabilities': 'all' } }, {}))).toEqual({ status: 400, code: -32602 });
    expect(refusal(() => readStatelessRequest(request({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: META } }, { 'Mcp-Method': 'tools/list' })))).toEqual({ status: 400, code: -32020 });
    expect(refusal(() => readStatelessRequest(request({ jsonrpc: '2.0', method: 'tools/list', params: { _meta: META } }, { 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'tools/list' })))).toEqual({ status: 400, code: -32600 });
  });
});
