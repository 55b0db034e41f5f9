import { RoleName } from '@gatehouse/config';
import { ApiKeyRecord, ApiKeyRepository, ClusterBus, CredentialRecord, NewApiKey } from '@gatehouse/db';
import { Principal } from '../auth/principal';
import { PrincipalCache } from '../auth/principal-cache';
import { hashCredential } from '../auth/credential-hash';
import { ApiKeyService } from './api-key.service';
import { KeyUsageRecorder } from './key-usage.recorder';

const ORG = { id: 'org-1', slug: 'acme', name: 'Acme' };

type StoredKey = ApiKeyRecord & { secretHash: string };

// An in-memory stand-in for the repository only: the service's rules are what is under test here. People's
// current roles live in `members`; the chain of a key with no person is read from the stored keys.
class FakeRepository {
  readonly keys = new Map<string, StoredKey>();
  readonly members = new Map<string, RoleName>();
  touched: string[] = [];

  constructor() {
    // The key the tests' principal() stands for: a root key with no person, like a config-file key.
    const creator = { id: 'creator', organizationId: ORG.id, createdById: null, createdByKeyId: null, name: 'creator', prefix: 'ghk_creato', secretHash: 'h' };
    this.keys.set('creator', { ...creator, kind: 'api_key', role: 'owner', access: 'read_write', configManaged: true, createdAt: new Date(), lastUsedAt: null, revokedAt: null, expiresAt: null, endpointId: null });
  }

  async create(key: NewApiKey): Promise<ApiKeyRecord> {
    const record = { id: `key-${this.keys.size + 1}`, kind: 'api_key' as const, configManaged: false, createdAt: new Date(), lastUsedAt: null, revokedAt: null, ...key, expiresAt: key.expiresAt ?? null, endpointId: key.endpointId ?? null };
    this.keys.set(record.id, record);
    return record;
  }

  async findBySecretHash(hash: string): Promise<CredentialRecord | null> {
    const key = [...this.keys.values()].find((stored) => stored.secretHash === hash);
    return key ? this.credential(key) : null;
  }

  async findCredential(_organizationId: string, id: string): Promise<CredentialRecord | null> {
    const key = this.keys.get(id);
    return key ? this.credential(key) : null;
  }

  async touchLastUsed(id: string) {
    this.touched.push(id);
  }

  async revoke(_organizationId: string, id: string, at: Date) {
    const key = this.keys.get(id);
    const revokedIds = [...this.keys.values()].filter((stored) => !stored.revokedAt && (stored.id === id || stored.createdByKeyId === id)).map((stored) => stored.id);
    for (const revoked of revokedIds) this.keys.get(revoked)!.revokedAt = at;
    return { key: key ?? null, revokedIds };
  }

  private credential(key: StoredKey): CredentialRecord {
    const mintedBy = [];
    for (let parent = key.createdById ? null : key.createdByKeyId; parent; parent = this.keys.get(parent)?.createdByKeyId ?? null) {
      const above = this.keys.get(parent);
      if (above) mintedBy.push(above);
    }
    return {
      ...key,
      organization: ORG,
      userId: key.createdById,
      userEmail: key.createdById ? `${key.createdById}@acme.test` : null,
      memberRole: key.createdById ? (this.members.get(key.createdById) ?? null) : null,
      mintedBy,
      clientId: null,
      client: null,
      endpoint: null,
    };
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
    rootKeyId: 'creator',
    clientId: null,
    client: null,
    name: 'creator',
    endpoint: null,
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

  it('stops authenticating a key at its expiry, though it was cached (and one minted from it)', async () => {
    // Only the clock is faked: the cache's TTL (30 s) is longer than the minute to expiry, so only the expiry can end it.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'setInterval', 'queueMicrotask'] });
    try {
      const start = Date.now();
      const { secret } = await service.create(principal(), { name: 'short', role: 'member', access: 'read_write', expiresAt: new Date(start + 20_000) });
      const minter = (await service.authenticate(secret))!;
      const { secret: mintedSecret } = await service.create(minter, { name: 'minted', role: 'member', access: 'read_write' });
      expect(await service.authenticate(mintedSecret)).not.toBeNull();
      jest.setSystemTime(start + 19_000);
      expect(await service.authenticate(secret)).not.toBeNull();
      jest.setSystemTime(start + 20_001);
      expect(await service.standing(secret)).toBe('expired');
      expect(await service.standing(mintedSecret)).toBe('expired');
    } finally {
      jest.useRealTimers();
    }
  });

  it('refuses to create a key that has already expired', async () => {
    await expect(service.create(principal(), { name: 'late', role: 'member', access: 'read_write', expiresAt: new Date(Date.now() - 1) })).rejects.toThrow(/expiresAt/);
  });

  it('authenticates a key into a principal of its organization, recording use at most once a minute', async () => {
    const { key, secret } = await service.create(principal(), { name: 'ci', role: 'member', access: 'read_only' });
    const resolved = await service.authenticate(secret);
    await service.authenticate(secret);
    expect(resolved).toMatchObject({ subject: `api_key:${key.id}`, organizationSlug: 'acme', role: 'member', access: 'read_only' });
    expect(repository.touched).toEqual([key.id]);
    expect(await service.authenticate(`${secret}x`)).toBeNull();
  });

  it('rejects a revoked key at once, though it was cached, and tells the other replicas, with the keys it minted', async () => {
    const { key, secret } = await service.create(principal(), { name: 'ci', role: 'member', access: 'read_write' });
    expect(await service.authenticate(secret)).not.toBeNull();
    const minter = (await service.authenticate(secret))!;
    const { key: minted, secret: mintedSecret } = await service.create(minter, { name: 'minted', role: 'member', access: 'read_write' });
    expect(await service.authenticate(mintedSecret)).not.toBeNull();
    await service.revoke(ORG.id, key.id);
    expect(await service.authenticate(secret)).toBeNull();
    expect(await service.authenticate(mintedSecret)).toBeNull();
    expect(bus.published).toEqual([
      { type: 'grant-revoked', id: key.id },
      { type: 'grant-revoked', id: minted.id },
    ]);
  });

  it('serves a cached key without the database, and evicts it when another replica revokes it', async () => {
    const { key, secret } = await service.create(principal(), { name: 'ci', role: 'member', access: 'read_write' });
    await service.authenticate(secret);
    repository.keys.get(key.id)!.revokedAt = new Date(); // revoked elsewhere: the database says so, the cache not yet
    expect(await service.authenticate(secret)).not.toBeNull();
    bus.handler!({ type: 'grant-revoked', id: key.id }, false);
    expect(await service.authenticate(secret)).toBeNull();
  });

  it('looks a key that is not cached up once for the requests that ask at the same time, and anew after an eviction', async () => {
    const { key, secret } = await service.create(principal(), { name: 'busy', role: 'member', access: 'read_write' });
    const find = repository.findBySecretHash.bind(repository);
    let lookups = 0;
    let gate = Promise.resolve();
    repository.findBySecretHash = async (hash: string) => {
      lookups++;
      await gate;
      return find(hash);
    };
    const principals = await Promise.all(Array.from({ length: 16 }, () => service.authenticate(secret)));
    expect(principals.map((found) => found?.apiKeyId)).toEqual(Array(16).fill(key.id));
    expect(lookups).toBe(1);

    // A revocation while a lookup is on its way: the requests after it do not share that lookup.
    let release = () => {};
    gate = new Promise<void>((resolve) => (release = resolve));
    bus.handler!({ type: 'changed' }, false);
    const before = service.authenticate(secret);
    repository.keys.get(key.id)!.revokedAt = new Date();
    bus.handler!({ type: 'grant-revoked', id: key.id }, false);
    const after = service.authenticate(secret);
    release();
    expect(await after).toBeNull();
    expect(lookups).toBe(3);
    await before;
  });

  it('does not cache what a lookup found when the key was revoked while it was on its way', async () => {
    const { secret, key } = await service.create(principal(), { name: 'raced', role: 'member', access: 'read_write' });
    const find = repository.findBySecretHash.bind(repository);
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    // The lookup reads the key before the revocation and answers after it.
    repository.findBySecretHash = async (hash: string) => {
      const found = await find(hash);
      await gate;
      return found;
    };
    const during = service.authenticate(secret);
    await new Promise((resolve) => setImmediate(resolve));
    repository.keys.get(key.id)!.revokedAt = new Date();
    bus.handler!({ type: 'grant-revoked', id: key.id }, false);
    release();
    expect((await during)?.apiKeyId).toBe(key.id);
    repository.findBySecretHash = find;
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

  it('makes a key minted by a person’s key that person’s, and applies their demotion and removal at the next call', async () => {
    repository.members.set('alice', 'admin');
    const alice = principal({ userId: 'alice', userEmail: 'alice@acme.test', apiKeyId: 'alice-key', rootKeyId: null });
    const { key, secret } = await service.create(alice, { name: 'agent', role: 'admin', access: 'read_write' });
    expect(key).toMatchObject({ createdById: 'alice', createdByKeyId: 'alice-key' });
    expect(await service.authenticate(secret)).toMatchObject({ role: 'admin', userId: 'alice' });

    repository.members.set('alice', 'member');
    // Cached until the membership change is announced (on this replica or another).
    expect(await service.authenticate(secret)).toMatchObject({ role: 'admin' });
    bus.handler!({ type: 'member-changed', organizationId: ORG.id, userId: 'alice' }, false);
    expect(await service.authenticate(secret)).toMatchObject({ role: 'member' });
    expect(await service.current(ORG.id, key.id)).toMatchObject({ role: 'member', subject: `api_key:${key.id}` });

    repository.members.delete('alice');
    bus.handler!({ type: 'member-changed', organizationId: ORG.id, userId: 'alice' }, false);
    expect(await service.authenticate(secret)).toBeNull();
    expect(await service.current(ORG.id, key.id)).toBeNull();
  });

  it('hangs a key minted by a key with no person from it: never more than it holds, and its root as identity', async () => {
    const { key: middle, secret: middleSecret } = await service.create(principal(), { name: 'middle', role: 'admin', access: 'read_write' });
    const middlePrincipal = (await service.authenticate(middleSecret))!;
    expect(middle).toMatchObject({ createdById: null, createdByKeyId: 'creator' });
    expect(middlePrincipal).toMatchObject({ userId: null, rootKeyId: 'creator' });
    const { key: child, secret: childSecret } = await service.create(middlePrincipal, { name: 'child', role: 'admin', access: 'read_write' });
    expect(child).toMatchObject({ createdById: null, createdByKeyId: middle.id });
    expect(await service.authenticate(childSecret)).toMatchObject({ role: 'admin', rootKeyId: 'creator' });

    // A key above it is lowered (the config file changed the root): the child follows at its next authentication.
    Object.assign(repository.keys.get('creator')!, { role: 'member', access: 'read_only' });
    bus.handler!({ type: 'changed' }, false);
    expect(await service.authenticate(childSecret)).toMatchObject({ role: 'member', access: 'read_only' });
  });
});
