import { PrincipalSlots } from './principal-slots';

const alice = { apiKeyId: 'key-alice', subject: 'api_key:key-alice', organizationId: 'acme' };
const bob = { apiKeyId: 'key-bob', subject: 'api_key:key-bob', organizationId: 'acme' };
const carol = { apiKeyId: 'key-carol', subject: 'api_key:key-carol', organizationId: 'beta' };

describe('PrincipalSlots', () => {
  it('refuses past the credential cap while another credential of the organization still gets slots', () => {
    const slots = new PrincipalSlots(2, 3);
    const first = slots.acquire(alice);
    const second = slots.acquire(alice);
    expect([typeof first, typeof second]).toEqual(['function', 'function']);
    expect(slots.acquire(alice)).toBe('credential');
    expect(typeof slots.acquire(bob)).toBe('function');
  });

  it('refuses past the organization cap whatever the credential, and never counts another organization', () => {
    const slots = new PrincipalSlots(2, 3);
    slots.acquire(alice);
    slots.acquire(alice);
    slots.acquire(bob);
    expect(slots.acquire(bob)).toBe('organization');
    expect(typeof slots.acquire(carol)).toBe('function');
  });

  it('gives slots back once, however often the release is called', () => {
    const slots = new PrincipalSlots(2, 3);
    const release = slots.acquire(alice, 2);
    if (typeof release === 'string') throw new Error(`refused: ${release}`);
    expect(slots.acquire(alice)).toBe('credential');
    release();
    release();
    // Twice released would have left room for four; the organization's cap of three says otherwise.
    expect(typeof slots.acquire(alice, 2)).toBe('function');
    expect(typeof slots.acquire(bob)).toBe('function');
    expect(slots.acquire(bob)).toBe('organization');
  });

  it('refuses a request for more slots than a cap holds at all', () => {
    expect(new PrincipalSlots(2, 10).acquire(alice, 3)).toBe('credential');
  });
});
