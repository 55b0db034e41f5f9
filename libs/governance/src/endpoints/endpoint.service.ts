import { Injectable, OnModuleInit } from '@nestjs/common';
import { AuditRecorder } from '@gatehouse/audit';
import { AppConfig, EndpointSpec, GatehouseError } from '@gatehouse/config';
import { ConnectionRegistry, exposedToolName } from '@gatehouse/connections';
import { ApiKeyRecord, ClusterBus, EndpointRecord, EndpointRepository, OrganizationCache } from '@gatehouse/db';
import { ApiKeyService, auditActorOf, CreateApiKeyInput, IssuedApiKey, Principal } from '@gatehouse/identity';
import { PolicyService } from '../policy/policy.service';
import { EndpointView, selectionView, WHOLE_ORGANIZATION } from './endpoint-view';

export interface EndpointDetails extends EndpointSpec {
  id: string;
  /** The URL clients add: /mcp/<name> under the public URL. */
  url: string;
  configManaged: boolean;
  createdAt: Date;
  updatedAt: Date;
}

// An organization's endpoints: narrower doors than /mcp (`/mcp/<name>`), each a selection of its tools. Served from
// a per-organization cache, since every MCP request at an endpoint resolves its door; a change on any replica is in
// force for the next request everywhere.
@Injectable()
export class EndpointService implements OnModuleInit {
  private readonly cache: OrganizationCache<Map<string, EndpointRecord>>;

  constructor(
    private readonly repository: EndpointRepository,
    private readonly registry: ConnectionRegistry,
    private readonly policies: PolicyService,
    private readonly apiKeys: ApiKeyService,
    private readonly recorder: AuditRecorder,
    private readonly config: AppConfig,
    bus: ClusterBus,
  ) {
    this.cache = new OrganizationCache(bus, 'endpoints', async (organizationId) => new Map((await repository.list(organizationId)).map((e) => [e.name, e])));
  }

  onModuleInit(): Promise<void> {
    return this.cache.subscribe();
  }

  /**
   * The door a request came through, for its principal's organization: /mcp (null) or the endpoint of that name.
   * Another organization's endpoint of the same name is never found: names are looked up in the principal's.
   */
  async door(principal: Pick<Principal, 'organizationId'>, name: string | null): Promise<EndpointView> {
    if (name === null) return WHOLE_ORGANIZATION;
    const endpoint = (await this.cache.get(principal.organizationId)).get(name);
    if (!endpoint) throw GatehouseError.notFound(`No MCP endpoint "${name}" in this organization`);
    const policy = await this.policies.policyFor(principal.organizationId);
    const { organizationId } = principal;
    return selectionView(endpoint, {
      classify: (tool) => policy.classify(tool),
      tagsOf: (connection) => this.registry.tagsOf(organizationId, connection),
      canonicalOf: (connection, downstreamName) => {
        // Names are derived, not stored: the exposed name of a downstream name is fixed (exposedToolName). A
        // collision (two downstream names, one exposed name) resolves to the other tool, which this refuses.
        const resolved = this.registry.resolve(organizationId, exposedToolName(connection, downstreamName));
        return resolved?.tool.downstreamName === downstreamName ? resolved.tool.exposedName : null;
      },
    });
  }

  async list(organizationId: string): Promise<EndpointDetails[]> {
    return (await this.repository.list(organizationId)).map((endpoint) => this.details(endpoint));
  }

  async get(organizationId: string, name: string): Promise<EndpointDetails> {
    return this.details(await this.found(organizationId, name));
  }

  /** Creates (`create`) or replaces an endpoint; the config file's are read-only here. */
  async save(principal: Principal, spec: EndpointSpec, mode: 'create' | 'update'): Promise<EndpointDetails> {
    const { organizationId } = principal;
    const current = await this.repository.find(organizationId, spec.name);
    if (mode === 'update' && !current) throw notFound(spec.name);
    if (current?.configManaged) throw GatehouseError.conflict(`Endpoint "${spec.name}" is managed by the config file; change it there`);
    const saved = mode === 'create' ? await this.repository.create(organizationId, spec) : await this.repository.update(organizationId, spec);
    if (saved === 'exists') throw GatehouseError.conflict(`An endpoint named "${spec.name}" already exists`);
    if (!saved) throw notFound(spec.name);
    await this.cache.changed(organizationId);
    await this.record(principal, mode === 'create' ? 'endpoint.created' : 'endpoint.updated', spec.name, { selection: spec.selection, unprefixed: spec.unprefixed });
    return this.details(saved);
  }

  /** Deletes the endpoint and its keys (which stop working at once on every replica). */
  async remove(principal: Principal, name: string): Promise<void> {
    const current = await this.found(principal.organizationId, name);
    if (current.configManaged) throw GatehouseError.conflict(`Endpoint "${name}" is managed by the config file; remove it there`);
    const { keyIds } = await this.repository.remove(principal.organizationId, name);
    await this.cache.changed(principal.organizationId);
    await this.apiKeys.forget(keyIds);
    await this.record(principal, 'endpoint.deleted', name, { keysDeleted: keyIds.length });
  }

  /** A key for this endpoint only; the secret is shown once, as for every key. */
  async createKey(principal: Principal, name: string, input: CreateApiKeyInput): Promise<IssuedApiKey> {
    const endpoint = await this.found(principal.organizationId, name);
    const issued = await this.apiKeys.create(principal, input, endpoint.id);
    await this.record(principal, 'endpoint.key.created', name, { keyId: issued.key.id, prefix: issued.key.prefix, role: input.role, expiresAt: input.expiresAt?.toISOString() ?? null });
    return issued;
  }

  async keys(organizationId: string, name: string): Promise<ApiKeyRecord[]> {
    const endpoint = await this.found(organizationId, name);
    return this.apiKeys.listForEndpoint(organizationId, endpoint.id);
  }

  /** After the config file was applied: every replica reloads the organization's endpoints. */
  changed(organizationId: string): Promise<void> {
    return this.cache.changed(organizationId);
  }

  private async found(organizationId: string, name: string): Promise<EndpointRecord> {
    const endpoint = await this.repository.find(organizationId, name);
    if (!endpoint) throw notFound(name);
    return endpoint;
  }

  private details(endpoint: EndpointRecord): EndpointDetails {
    const { id, name, description, selection, unprefixed, configManaged, createdAt, updatedAt } = endpoint;
    return { id, name, description, selection, unprefixed, configManaged, createdAt, updatedAt, url: `${this.config.mcpUrl}/${name}` };
  }

  private async record(principal: Principal, kind: string, name: string, data: Record<string, unknown>): Promise<void> {
    await this.recorder.record({ organizationId: principal.organizationId, kind, actor: auditActorOf(principal), target: { type: 'endpoint', name }, outcome: 'success', data });
  }
}

function notFound(name: string): GatehouseError {
  return GatehouseError.notFound(`No endpoint named "${name}" in this organization`);
}
