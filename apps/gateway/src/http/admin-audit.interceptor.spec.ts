import { CallHandler, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { lastValueFrom, of, throwError } from 'rxjs';
import type { AuditEntry, AuditRecorder } from '@gatehouse/audit';
import { GatehouseError } from '@gatehouse/config';
import { AuditedAs, Principal } from '@gatehouse/identity';
import { AdminAuditInterceptor } from './admin-audit.interceptor';

class Routes {
  @AuditedAs('admin.api_key.created', { target: 'api_key' })
  create(): void {}
  unaudited(): void {}
}

const principal = {
  kind: 'api_key',
  organizationId: 'org-1',
  apiKeyId: 'k1',
  name: 'admin',
  userId: null,
  userEmail: null,
  client: null,
  origin: { ip: '127.0.0.1', userAgent: 'curl/8' },
} as unknown as Principal;

function contextFor(handler: () => void): ExecutionContext {
  const request = { method: 'POST', path: '/api/v1/api-keys', params: {}, principal };
  return {
    getType: () => 'http',
    getHandler: () => handler,
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
}

describe('AdminAuditInterceptor', () => {
  const recorded: AuditEntry[] = [];
  const interceptor = new AdminAuditInterceptor(new Reflector(), { record: async (entry: AuditEntry) => void recorded.push(entry) } as unknown as AuditRecorder);
  const run = (handler: () => void, next: CallHandler) => lastValueFrom(interceptor.intercept(contextFor(handler), next));

  beforeEach(() => recorded.splice(0));

  it('records a success with what the response names, and never its other fields (a new key\'s secret)', async () => {
    const response = { id: 'k2', name: 'ci', prefix: 'ghk_abcdef', role: 'member', secret: 'ghk_abcdef-the-whole-secret' };
    await expect(run(Routes.prototype.create, { handle: () => of(response) })).resolves.toBe(response);
    expect(recorded).toEqual([
      expect.objectContaining({
        organizationId: 'org-1',
        kind: 'admin.api_key.created',
        outcome: 'success',
        actor: expect.objectContaining({ type: 'api_key', id: 'k1', ip: '127.0.0.1', userAgent: 'curl/8' }),
        target: { type: 'api_key', id: 'k2', name: 'ci' },
        data: expect.objectContaining({ status: 201, result: { id: 'k2', name: 'ci', prefix: 'ghk_abcdef', role: 'member' } }),
      }),
    ]);
    expect(JSON.stringify(recorded)).not.toContain('the-whole-secret');
  });

  it('records a refusal as denied and other errors as failures, with the status, and rethrows them', async () => {
    const forbidden = GatehouseError.forbidden('Cannot create a key with role admin');
    await expect(run(Routes.prototype.create, { handle: () => throwError(() => forbidden) })).rejects.toBe(forbidden);
    const conflict = GatehouseError.conflict('taken');
    await expect(run(Routes.prototype.create, { handle: () => throwError(() => conflict) })).rejects.toBe(conflict);
    expect(recorded.map((entry) => [entry.outcome, entry.data?.['status'], entry.data?.['error']])).toEqual([
      ['denied', 403, 'Cannot create a key with role admin'],
      ['failure', 409, 'taken'],
    ]);
  });

  it('leaves routes without @AuditedAs alone', async () => {
    await run(Routes.prototype.unaudited, { handle: () => of({ id: 'x' }) });
    expect(recorded).toEqual([]);
  });
});
