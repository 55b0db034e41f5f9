import { MetricsRegistry } from '@gatehouse/db';
import type { AuditLog } from './audit-log';
import { AuditRecorder } from './audit-recorder';
import type { AuditEntry } from './audit-record';

const entry: AuditEntry = {
  organizationId: '6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5',
  kind: 'admin.connection.created',
  actor: { type: 'api_key', id: 'k1', name: 'admin', ip: '127.0.0.1', userAgent: 'test' },
  outcome: 'success',
};

describe('AuditRecorder', () => {
  it('appends the entry', async () => {
    const append = jest.fn().mockResolvedValue('event-id');
    await new AuditRecorder({ append } as unknown as AuditLog, new MetricsRegistry()).record(entry);
    expect(append).toHaveBeenCalledWith(entry);
  });

  it('never throws when the store cannot write: it counts and logs the lost record instead', async () => {
    const metrics = new MetricsRegistry();
    const recorder = new AuditRecorder({ append: jest.fn().mockRejectedValue(new Error('database is down')) } as unknown as AuditLog, metrics);
    const logged = jest.spyOn((recorder as unknown as { logger: { error: (...args: unknown[]) => void } }).logger, 'error').mockImplementation(() => undefined);
    await expect(recorder.record(entry)).resolves.toBeUndefined();
    await recorder.record(entry);
    expect(recorder.lostRecords).toBe(2);
    expect(await metrics.metrics()).toContain('gatehouse_audit_records_lost_total{kind="admin.connection.created"} 2');
    expect(logged).toHaveBeenCalledWith(expect.objectContaining({ event: expect.objectContaining({ kind: 'admin.connection.created' }), lostRecords: 2 }), expect.stringContaining('admin.connection.created'));
  });
});
