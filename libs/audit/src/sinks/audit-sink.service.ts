import { Injectable } from '@nestjs/common';
import { ApiAuditSinkSpec, AuditSinkSettings, auditSinkSpec, GatehouseError } from '@gatehouse/config';
import { AuditSinkRepository, AuditSinkView } from '@gatehouse/db';
import { EgressPolicy } from '@gatehouse/egress';
import type { AuditSinkPatch } from './audit-sink.dto';
import { AuditSinkQueue } from './audit-sink.queue';

/** A sink as the admin API shows it: never its secret. cursor is a seq (64-bit, as a string). */
export interface AuditSinkInfo {
  id: string;
  name: string;
  type: AuditSinkView['type'];
  format: AuditSinkView['format'];
  settings: AuditSinkSettings;
  enabled: boolean;
  configManaged: boolean;
  state: AuditSinkView['state'];
  cursor: string;
  lag: number;
  failures: number;
  lastError: string | null;
  lastAttemptAt: Date | null;
  lastDeliveredAt: Date | null;
}

const info = (sink: AuditSinkView): AuditSinkInfo => ({
  id: sink.id,
  name: sink.name,
  type: sink.type,
  format: sink.format,
  settings: sink.settings,
  enabled: sink.enabled,
  configManaged: sink.configManaged,
  state: sink.state,
  cursor: sink.cursor.toString(),
  lag: Number(sink.lag),
  failures: sink.failures,
  lastError: sink.lastError,
  lastAttemptAt: sink.lastAttemptAt,
  lastDeliveredAt: sink.lastDeliveredAt,
});

// The organization's SIEM sinks through the admin API. Sinks from the config file change only through the file.
@Injectable()
export class AuditSinkService {
  constructor(
    private readonly sinks: AuditSinkRepository,
    private readonly queue: AuditSinkQueue,
    private readonly egress: EgressPolicy,
  ) {}

  async list(organizationId: string): Promise<AuditSinkInfo[]> {
    return (await this.sinks.list(organizationId)).map(info);
  }

  async get(organizationId: string, id: string): Promise<AuditSinkInfo> {
    return info(await this.existing(organizationId, id));
  }

  async create(organizationId: string, body: ApiAuditSinkSpec): Promise<AuditSinkInfo> {
    const spec = auditSinkSpec(body);
    await this.assertReachable(spec.settings);
    const id = await this.sinks.create(organizationId, spec);
    if (!id) throw GatehouseError.conflict(`An audit sink named "${body.name}" already exists`);
    await this.queue.deliver(organizationId, id);
    return this.get(organizationId, id);
  }

  /** PUT: the whole sink again (same name); its cursor and delivery state stay. */
  async replace(organizationId: string, id: string, body: ApiAuditSinkSpec): Promise<AuditSinkInfo> {
    const sink = await this.changeable(organizationId, id);
    if (body.name !== sink.name) throw GatehouseError.invalid(`An audit sink cannot be renamed (it is "${sink.name}")`);
    const spec = auditSinkSpec(body);
    await this.assertReachable(spec.settings);
    await this.sinks.update(organizationId, id, { type: spec.type, format: spec.format, enabled: spec.enabled, settings: spec.settings, secret: spec.secret });
    await this.queue.deliver(organizationId, id);
    return this.get(organizationId, id);
  }

  async patch(organizationId: string, id: string, patch: AuditSinkPatch): Promise<AuditSinkInfo> {
    const sink = await this.changeable(organizationId, id);
    await this.sinks.update(organizationId, id, {
      ...(patch.enabled === undefined ? {} : { enabled: patch.enabled }),
      ...(patch.format === undefined ? {} : { format: patch.format }),
      ...(patch.batchSize === undefined ? {} : { settings: { ...sink.settings, batchSize: patch.batchSize } }),
    });
    await this.queue.deliver(organizationId, id);
    return this.get(organizationId, id);
  }

  async remove(organizationId: string, id: string): Promise<{ deleted: true }> {
    await this.changeable(organizationId, id);
    await this.sinks.delete(organizationId, id);
    return { deleted: true };
  }

  /** Out of dead_letter (config-managed sinks too): delivery resumes from the cursor; nothing was skipped. */
  async retry(organizationId: string, id: string): Promise<AuditSinkInfo> {
    await this.existing(organizationId, id);
    await this.sinks.resetFailures(organizationId, id);
    await this.queue.deliver(organizationId, id);
    return this.get(organizationId, id);
  }

  // Said when the sink is saved; every delivery is vetted again when it connects.
  private async assertReachable(settings: AuditSinkSettings): Promise<void> {
    const [field, host] = settings.type === 'syslog' ? ['host', settings.host] : ['url', new URL(settings.url).hostname];
    const problem = await this.egress.problemWith(host);
    if (problem) throw GatehouseError.invalid(`${field}: ${problem}`);
  }

  private async existing(organizationId: string, id: string): Promise<AuditSinkView> {
    const sink = await this.sinks.find(organizationId, id);
    if (!sink) throw GatehouseError.notFound('No such audit sink');
    return sink;
  }

  private async changeable(organizationId: string, id: string): Promise<AuditSinkView> {
    const sink = await this.existing(organizationId, id);
    if (sink.configManaged) throw GatehouseError.conflict(`Audit sink "${sink.name}" comes from the config file; change it there`);
    return sink;
  }
}
