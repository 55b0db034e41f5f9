import { ClusterBus } from './cluster-bus';

// Changes reach every replica through the cluster bus at once; this only bounds a lost message.
const DEFAULT_TTL_MS = 60_000;

interface Entry<T> {
  value: Promise<T>;
  loadedAt: number;
}

/**
 * Per-organization state derived from the database (settings, endpoints), loaded once and shared by every request;
 * a change made on any replica evicts it everywhere (`changed`). A failed load is not kept.
 */
export class OrganizationCache<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly bus: ClusterBus,
    private readonly channel: string,
    private readonly load: (organizationId: string) => Promise<T>,
    private readonly ttlMs = DEFAULT_TTL_MS,
  ) {}

  /** Call once at module init. */
  subscribe(): Promise<void> {
    return this.bus.subscribe(this.channel, (event) => this.entries.delete((event as { organizationId: string }).organizationId));
  }

  get(organizationId: string): Promise<T> {
    const entry = this.entries.get(organizationId);
    if (entry && Date.now() - entry.loadedAt < this.ttlMs) return entry.value;
    const value = this.load(organizationId);
    value.catch(() => this.entries.delete(organizationId));
    this.entries.set(organizationId, { value, loadedAt: Date.now() });
    return value;
  }

  /** The organization's state changed: reloaded on next use here and on every replica. */
  async changed(organizationId: string): Promise<void> {
    this.entries.delete(organizationId);
    await this.bus.publish(this.channel, { organizationId });
  }
}
