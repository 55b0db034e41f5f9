import { Injectable, OnModuleInit } from '@nestjs/common';
import { AuditSettingsSpec, GatehouseError } from '@gatehouse/config';
import { AuditSettings, AuditSettingsRepository, ClusterBus } from '@gatehouse/db';
import type { AuditActor } from '../record/audit-record';
import { AuditRecorder } from '../record/audit-recorder';

const CHANNEL = 'audit-settings';
// Changes reach every replica through the cluster bus at once; this only bounds a lost message.
const TTL_MS = 60_000;

interface Entry {
  settings: Promise<AuditSettings>;
  loadedAt: number;
}

// Each organization's audit settings (detail level, fail mode, redaction paths), cached per replica: every
// tools/call reads them, and a change made anywhere applies to the next call on every replica.
@Injectable()
export class AuditSettingsService implements OnModuleInit {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly repository: AuditSettingsRepository,
    private readonly bus: ClusterBus,
    private readonly recorder: AuditRecorder,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.bus.subscribe(CHANNEL, (event) => this.cache.delete((event as { organizationId: string }).organizationId));
  }

  forOrganization(organizationId: string): Promise<AuditSettings> {
    const entry = this.cache.get(organizationId);
    if (entry && Date.now() - entry.loadedAt < TTL_MS) return entry.settings;
    const settings = this.repository.find(organizationId).then((found) => {
      if (!found) throw GatehouseError.notFound('Organization not found');
      return found;
    });
    settings.catch(() => this.cache.delete(organizationId));
    this.cache.set(organizationId, { settings, loadedAt: Date.now() });
    return settings;
  }

  /**
   * Replaces the settings through the admin API (refused when the config file owns them). The change is itself
   * audited, before and after: choosing fail-open, or a lower detail level, leaves a record.
   */
  async update(organizationId: string, spec: AuditSettingsSpec, actor: AuditActor): Promise<AuditSettings> {
    const current = await this.repository.find(organizationId);
    if (!current) throw GatehouseError.notFound('Organization not found');
    if (current.configManaged) {
      throw GatehouseError.conflict("This organization's audit settings are managed by the config file; change them there");
    }
    const { before, after } = await this.repository.update(organizationId, { ...spec, retentionDays: spec.retentionDays ?? null });
    await this.recorder.record({
      organizationId,
      kind: 'audit.settings.changed',
      actor,
      target: { type: 'audit_settings', id: organizationId },
      outcome: 'success',
      data: { before: { ...before }, after: { ...after } },
    });
    await this.changed(organizationId);
    return after;
  }

  /** Settings changed (through the API or the config file): every replica reloads them before its next call. */
  async changed(organizationId: string): Promise<void> {
    this.cache.delete(organizationId);
    await this.bus.publish(CHANNEL, { organizationId });
  }
}
