import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, TestGateway } from '../support/gateway';

// The dashboard's API client is generated from apps/dashboard/openapi.json at build time; this keeps that file the
// gateway's own document, so a changed endpoint breaks the dashboard's type check. GATEHOUSE_UPDATE_OPENAPI=1 writes
// the gateway's document to the file instead of comparing.
const FILE = join(__dirname, '..', '..', 'apps', 'dashboard', 'openapi.json');

describe('the OpenAPI document', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startGateway();
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('is the one the dashboard is built from', async () => {
    const served = (await (await fetch(`${gateway.baseUrl}/api/docs-json`)).json()) as { paths: Record<string, unknown> };
    if (process.env['GATEHOUSE_UPDATE_OPENAPI'] === '1') writeFileSync(FILE, `${JSON.stringify(served, null, 2)}\n`);
    expect(served).toEqual(JSON.parse(readFileSync(FILE, 'utf8')));
  });

  it('describes the response bodies the dashboard reads', async () => {
    const served = (await (await fetch(`${gateway.baseUrl}/api/docs-json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>>;
    };
    const schemaOf = (path: string, method: string, status: string) => served.paths[path]?.[method]?.responses[status]?.content?.['application/json']?.schema;
    for (const [path, method, status] of [
      ['/api/v1/session', 'get', '200'],
      ['/api/v1/approvals', 'get', '200'],
      ['/api/v1/approvals/{id}', 'get', '200'],
      ['/api/v1/approvals/{id}/approve', 'post', '200'],
      ['/api/v1/approvals/{id}/deny', 'post', '200'],
      ['/api/v1/connections', 'get', '200'],
      ['/api/v1/connections', 'post', '201'],
      ['/api/v1/connections/health', 'get', '200'],
      ['/api/v1/connections/test', 'post', '200'],
      ['/api/v1/connections/{id}', 'get', '200'],
      ['/api/v1/connections/{id}', 'put', '200'],
      ['/api/v1/connections/{id}/tools', 'get', '200'],
      ['/api/v1/connections/{id}/test', 'post', '200'],
      ['/api/v1/connections/{id}/refresh', 'post', '200'],
      ['/api/v1/connections/{id}/enable', 'post', '200'],
      ['/api/v1/connections/{id}/disable', 'post', '200'],
      ['/api/v1/audit/records', 'get', '200'],
      ['/api/v1/audit/calls/{callId}', 'get', '200'],
      ['/api/v1/audit/verify', 'get', '200'],
      ['/api/v1/audit/sinks', 'get', '200'],
      ['/api/v1/audit/sinks/{id}/retry', 'post', '200'],
      ['/api/v1/overview', 'get', '200'],
      ['/api/v1/usage', 'get', '200'],
      ['/api/v1/budgets', 'get', '200'],
      ['/api/v1/budgets', 'put', '200'],
      ['/api/v1/budgets/burn-down', 'get', '200'],
      ['/api/v1/costs', 'get', '200'],
      ['/api/v1/costs', 'put', '200'],
      ['/api/v1/policies', 'get', '200'],
      ['/api/v1/policies', 'put', '200'],
      ['/api/v1/policies/validate', 'post', '200'],
      ['/api/v1/policies/preview', 'post', '200'],
      ['/api/v1/policies/revisions', 'get', '200'],
      ['/api/v1/members', 'post', '201'],
      ['/api/v1/identity-provider', 'get', '200'],
      ['/api/v1/identity-provider', 'put', '200'],
    ] as const) {
      expect({ path, method, schema: schemaOf(path, method, status) }).toEqual({ path, method, schema: expect.any(Object) });
    }
  });
});
