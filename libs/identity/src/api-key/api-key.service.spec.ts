import { ApiKeyRecord, ApiKeyRepository, ApiKeyWithOrganization, ClusterBus, NewApiKey } from '@gatehouse/db';
import { Principal } from '../auth/principal';
import { PrincipalCache } from '../auth/principal-cache';
import { hashCredential } from '../auth/credential-hash';
import { ApiKeyService } from './api-key.service';
import { KeyUsageRecorder } from './key-usage.recorder';

const ORG = { id: 'org-1', slug: 'acme', name: 'Acme' };

// An in-memory stand-in for the repository only: the service's rules are what is under test here.
class FakeRepository {
  readonly keys = new Map<string, ApiKeyWithOrganization & { secretHash: string }>();
  touched: string[] = [];

  async create(key: NewApiKey): Promise<ApiKeyRecord> {
    const record = { id: `key-${this.keys.size + 1}`, kind: 'api_key' as const, configManaged: false, createdAt: new Date(), lastUsedAt: null, revokedAt: null, ...key };
    this.keys.set(record.id, { ...record, organization: ORG, createdBy: null });
    return record;
  }

  async findBySecretHash(hash: string) {
    return [...this.keys.values()].find((key) => key.secretHash === hash) ?? null;
  }

  async touchLastUsed(id: string) {
    this.touched.push(id);
  }

  async revoke(_organizationId: string, id: string, at: Date) {
    const key = this.keys.get(id);
    if (key) key.revokedAt ??= at;
    return key ?? null;
  }
}

class RecordingBus {
  readonly published: unknown[] = [];
  handler: ((payload: unknown, fromSelf: boolean) => void) | null = null;

  async publish(_channel: string, payload: unknown) {
    this.published.push(payload);
  }

  async subscribe(_channel: string, handler: (payload: unknown, fromSelf: boolean) => void) {
    this.handler = handler;
  }
}

function principal(overrides: Partial<Principal> = {}): Principal {
  return {
    kind: 'api_key',
    subject: 'api_key:creator',
    organizationId: ORG.id,
    organizationSlug: ORG.slug,
    role: 'admin',
    access: 'read_write',
    administration: true,
    apiKeyId: 'creator',
    userId: null,
    userEmail: null,
    clientId: null,
    client: null,
    name: 'creator',
    ...overrides,
  };
}

describe('ApiKeyService', () => {
  let repository: FakeRepository;
  let bus: RecordingBus;
  let service: ApiKeyService;

  beforeEach(async () => {
    repository = new FakeRepository();
    bus = new RecordingBus();
    const cache = new PrincipalCache(bus as unknown as ClusterBus);
    await cache.onModuleInit();
    service = new ApiKeyService(repository as unknown as ApiKeyRepository, cache, new KeyUsageRecorder(repository as unknown as ApiKeyRepository));
  });

  it('issues a secret once and stores only its hash', async () => {
    const { key, secret } = await service.create(principal(), { name: 'ci', role: 'member', access: 'read_only' });
    expect(secret).toMatch(/^ghk_[A-Za-z0-9_-]{43}$/);
    const stored = repository.keys.get(key.id)!;
    expect(stored.secretHash).toBe(hashCredential(secret));
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(key.prefix).toBe(secret.slice(0, 10));
  });

  it('authenticates a key into a principal of its organization, recording use at most once a minute', async () => {
    const { key, secret } = await service.create(principal(), { name: 'ci', role: 'member', access: 'read_only' });
    const resolved = await service.authenticate(secret);
    await service.authenticate(secret);
    expect(resolved).toMatchObject({ subject: `api_key:${key.id}`, organizationSlug: 'acme', role: 'member', access: 'read_only' });
    expect(repository.touched).toEqual([key.id]);
    expect(await service.authenticate(`${secret}x`)).toBeNull();
  });

  it('rejects a revoked key at once, though it was cached, and tells the other replicas', async () => {
    const { key, secret } = await service.create(principal(), { name: 'ci', role: 'member', access: 'read_write' });
    expect(await service.authenticate(secret)).not.toBeNull();
    await service.revoke(ORG.id, key.id);
    expect(await service.authenticate(secret)).toBeNull();
    expect(bus.published).toEqual([{ type: 'grant-revoked', id: key.id }]);
  });

  it('serves a cached key without the database, and evicts it when another replica revokes it', async () => {
    const { key, secret } = await service.create(principal(), { name: 'ci', role: 'member', access: 'read_write' });
    await service.authenticate(secret);
    repository.keys.get(key.id)!.revokedAt = new Date(); // revoked elsewhere: the database says so, the cache not yet
    expect(await service.authenticate(secret)).not.toBeNull();
    bus.handler!({ type: 'grant-revoked', id: key.id }, false);
    expect(await service.authenticate(secret)).toBeNull();
  });

  it('never issues a key with more than its creator holds', async () => {
    await expect(service.create(principal({ role: 'admin' }), { name: 'x', role: 'owner', access: 'read_write' })).rejects.toThrow(
      'exceeds your role',
    );
    await expect(
      service.create(principal({ access: 'read_only' }), { name: 'x', role: 'member', access: 'read_write' }),
    ).rejects.toThrow('read_only');
  });
});
