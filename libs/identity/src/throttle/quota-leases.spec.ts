import { IDLE_MS, MAX_LEASE, QuotaLeases } from './quota-leases';

describe('QuotaLeases', () => {
  it('counts requests against a lease until it runs out, each reporting the counter value it took', () => {
    const leases = new QuotaLeases();
    leases.counted('k', 0, 13, 60_000, 3, true); // 10 taken anywhere, this request's included; 11 to 13 leased here
    expect(leases.take('k', 1, 10)).toEqual({ consumed: 11, values: [11], msBeforeNext: 59_990 });
    const two = leases.take('k', 2, 20);
    expect(two).toEqual({ consumed: 13, values: [12, 13], msBeforeNext: 59_980 });
    expect(leases.take('k', 1, 30)).toBeNull();
    leases.untake('k', two!);
    expect(leases.take('k', 1, 40)).toEqual({ consumed: 12, values: [12], msBeforeNext: 59_960 });
  });

  it('ends a lease with its window, measured from before the request that took it was sent', () => {
    const leases = new QuotaLeases();
    leases.counted('k', 1_000, 20, 5_000, 10, true);
    expect(leases.take('k', 1, 5_999)).not.toBeNull();
    expect(leases.take('k', 1, 6_000)).toBeNull();
    expect(leases.size).toBe(0);
  });

  it('adds a grant of the same window to the lease, and replaces it with the next window', () => {
    const leases = new QuotaLeases();
    leases.counted('k', 0, 20, 10_000, 4, true);
    leases.counted('k', 3_000, 30, 7_010, 6, true); // the same window, its end seen 10 ms later; another replica took 21-24
    expect(leases.take('k', 10, 3_100)).toEqual({ consumed: 30, values: [17, 18, 19, 20, 25, 26, 27, 28, 29, 30], msBeforeNext: 6_900 });
    leases.counted('k', 9_900, 5, 10_050, 4, true); // sent before the window ended, counted in the next one
    expect(leases.take('k', 4, 9_950)).toEqual({ consumed: 5, values: [2, 3, 4, 5], msBeforeNext: 10_000 });
  });

  it('takes a lease only for a key that is busy here', () => {
    const leases = new QuotaLeases();
    expect(leases.leaseFor('k', 0)).toBe(0);
    leases.counted('k', 0, 1, 60_000, 0, false);
    expect(leases.leaseFor('k', IDLE_MS - 1)).toBe(MAX_LEASE);
    expect(leases.leaseFor('k', IDLE_MS)).toBe(0);
  });

  it('asks for one grant at a time, so that a burst that ends leaves at most one unused', async () => {
    const leases = new QuotaLeases();
    leases.counted('k', 0, 1, 60_000, 0, false);
    expect(leases.pending('k')).toBeUndefined();
    expect(leases.leaseFor('k', 10)).toBe(MAX_LEASE);
    // Requests behind the one that asked wait for its grant; any that go to Redis ask for nothing more.
    const grant = leases.pending('k');
    let answered = false;
    void grant!.then(() => (answered = true));
    expect(leases.leaseFor('k', 11)).toBe(0);
    leases.counted('k', 11, 2, 59_990, 0, false);
    expect(leases.leaseFor('k', 12)).toBe(0);
    await Promise.resolve();
    expect(answered).toBe(false);
    leases.counted('k', 10, 14, 59_990, 12, true);
    await grant;
    expect(leases.pending('k')).toBeUndefined();
    expect(leases.take('k', 12, 20)).toEqual({ consumed: 14, values: [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14], msBeforeNext: 59_980 });
    expect(leases.leaseFor('k', 30)).toBe(MAX_LEASE);
    // Redis did not answer: whoever waited goes on, and the next request asks again.
    const failed = leases.pending('k');
    leases.unanswered('k');
    await failed;
    expect(leases.leaseFor('k', 40)).toBe(MAX_LEASE);
  });

  it('gives back what an idle key left unused while its window lasts, and forgets idle keys', () => {
    const leases = new QuotaLeases();
    leases.counted('busy', 0, 10, 60_000, 5, true);
    leases.counted('idle', 0, 10, 60_000, 5, true);
    leases.counted('ending', 0, 10, 1_500, 5, true);
    leases.counted('spent', 0, 10, 60_000, 0, false);
    leases.take('busy', 1, 900);
    expect([...leases.sweep(1_200)]).toEqual([['idle', [6, 7, 8, 9, 10]]]);
    expect(leases.size).toBe(1);
    // At shutdown, every key granted here in its window, so that this process stops answering for it.
    expect([...leases.sweep(1_300, true)]).toEqual([
      ['busy', [7, 8, 9, 10]],
      ['ending', []],
    ]);
    expect(leases.size).toBe(0);
  });

  it('surrenders what a key granted here has left, once, and nothing for a key never granted here or whose window ended', () => {
    const leases = new QuotaLeases();
    leases.counted('k', 0, 13, 60_000, 3, true);
    expect(leases.take('k', 1, 10)).not.toBeNull();
    expect(leases.surrender('k', 20)).toEqual([12, 13]);
    expect(leases.take('k', 1, 30)).toBeNull();
    expect(leases.surrender('k', 40)).toBeNull();
    leases.counted('quiet', 0, 1, 60_000, 0, false);
    expect(leases.surrender('quiet', 40)).toBeNull();
    leases.counted('spent', 0, 2, 60_000, 1, true);
    expect(leases.take('spent', 1, 10)).not.toBeNull();
    expect(leases.surrender('spent', 50)).toEqual([]);
    leases.counted('ended', 0, 2, 1_000, 1, true);
    expect(leases.surrender('ended', 1_000)).toBeNull();
  });
});
