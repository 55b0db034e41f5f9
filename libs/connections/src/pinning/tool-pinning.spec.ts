import type { OrganizationRepository, ToolDefinitionToPin, ToolPinRecord, ToolPinRepository } from '@gatehouse/db';
import { AUTO_ACCEPTED_BY, heldBackReason, isNewToolPin, ToolPinning, UNACCEPTED_HASH } from './tool-pinning';

const connection = { id: 'c1', organizationId: 'o1', name: 'fixture' };
const listed = (name: string, hash: string): ToolDefinitionToPin => ({ name, hash, definition: { name, description: hash } });

// An in-memory tool_pins table with the repository's semantics (first writer wins, compare-and-set accept).
function pinStore(initial: ToolPinRecord[] = []) {
  const rows = new Map(initial.map((pin) => [pin.name, pin]));
  const repository = {
    listForConnection: jest.fn(async () => [...rows.values()]),
    pinFirstDefinitions: jest.fn(async (_id: string, tools: ToolDefinitionToPin[]) => {
      for (const tool of tools) if (!rows.has(tool.name)) rows.set(tool.name, { ...tool, acceptedAt: new Date(), acceptedBy: null });
    }),
    accept: jest.fn(async (_org: string, _id: string, name: string, change: { pinnedHash: string; accepted: ToolDefinitionToPin; acceptedBy: string }) => {
      if (rows.get(name)?.hash !== change.pinnedHash) return false;
      rows.set(name, { ...change.accepted, acceptedAt: new Date(), acceptedBy: change.acceptedBy });
      return true;
    }),
  };
  return { rows, repository };
}

function pinning(store: ReturnType<typeof pinStore>, autoAccept = false, holdNewTools = true) {
  const organizations = { toolReview: jest.fn(async () => ({ autoAcceptChanges: autoAccept, holdNewTools })) };
  return {
    organizations,
    service: new ToolPinning(store.repository as unknown as ToolPinRepository, organizations as unknown as OrganizationRepository),
  };
}

describe('ToolPinning', () => {
  it('pins the first list as it is, and keeps an existing pin when a definition changes', async () => {
    const store = pinStore();
    const { service } = pinning(store);
    const first = await service.review(connection, [listed('echo', 'h1'), listed('count', 'c1')]);
    expect([first.get('echo')?.hash, first.get('count')?.hash]).toEqual(['h1', 'c1']);
    const pins = await service.review(connection, [listed('echo', 'h2'), listed('count', 'c1')]);
    expect(pins.get('echo')?.hash).toBe('h1');
    expect(store.repository.accept).not.toHaveBeenCalled();
  });

  it('holds tools with new names after the first list, unaccepted, unless the organization turned that off', async () => {
    const existing = { name: 'echo', hash: 'h1', definition: {}, acceptedAt: new Date(0), acceptedBy: null };
    const store = pinStore([existing]);
    const { service, organizations } = pinning(store, true);
    // A rename is a new name; even an organization that auto-accepts changes reviews it.
    const pins = await service.review(connection, [listed('echo_renamed', 'h1')]);
    expect(pins.get('echo_renamed')).toMatchObject({ hash: UNACCEPTED_HASH, definition: {} });
    expect(isNewToolPin(pins.get('echo_renamed')!)).toBe(true);
    expect(organizations.toolReview).toHaveBeenCalledWith('o1');
    expect(store.repository.accept).not.toHaveBeenCalled();

    const trusting = pinStore([existing]);
    const added = await pinning(trusting, false, false).service.review(connection, [listed('added', 'a1')]);
    expect(added.get('added')?.hash).toBe('a1');
  });

  it('takes the pin another replica wrote first', async () => {
    const store = pinStore();
    store.repository.pinFirstDefinitions.mockImplementationOnce(async () => {
      store.rows.set('echo', { name: 'echo', hash: 'theirs', definition: {}, acceptedAt: new Date(), acceptedBy: null });
    });
    const pins = await pinning(store).service.review(connection, [listed('echo', 'ours')]);
    expect(pins.get('echo')?.hash).toBe('theirs');
  });

  it('costs one query when nothing changed, and none for an empty list', async () => {
    const store = pinStore([{ name: 'echo', hash: 'h1', definition: {}, acceptedAt: new Date(0), acceptedBy: null }]);
    const { service, organizations } = pinning(store);
    await service.review(connection, [listed('echo', 'h1')]);
    await service.review(connection, []);
    expect(store.repository.listForConnection).toHaveBeenCalledTimes(1);
    expect(store.repository.pinFirstDefinitions).not.toHaveBeenCalled();
    expect(organizations.toolReview).not.toHaveBeenCalled();
  });

  it('accepts a changed definition for an organization that auto-accepts', async () => {
    const store = pinStore([{ name: 'echo', hash: 'h1', definition: {}, acceptedAt: new Date(0), acceptedBy: null }]);
    const pins = await pinning(store, true).service.review(connection, [listed('echo', 'h2')]);
    expect(pins.get('echo')).toMatchObject({ hash: 'h2', acceptedBy: AUTO_ACCEPTED_BY });
    expect(store.repository.accept).toHaveBeenCalledWith('o1', 'c1', 'echo', {
      pinnedHash: 'h1',
      accepted: listed('echo', 'h2'),
      acceptedBy: AUTO_ACCEPTED_BY,
    });
  });
});

describe('heldBackReason', () => {
  it('says what happened and where an admin reviews it', () => {
    expect(heldBackReason('fixture_echo', 'c1', new Date('2026-11-30T02:54:55Z'))).toBe(
      'Tool "fixture_echo" is held back: its definition changed on 2026-11-30 02:54 UTC and an administrator must ' +
        'review and accept the change (GET /api/v1/connections/c1/tool-changes).',
    );
    expect(heldBackReason('fixture_new', 'c1', new Date('2026-11-30T02:54:55Z'), true)).toBe(
      'Tool "fixture_new" is held back: it appeared on 2026-11-30 02:54 UTC, after the connection\'s first tool list, and an ' +
        'administrator must review and accept it (GET /api/v1/connections/c1/tool-changes).',
    );
  });
});
