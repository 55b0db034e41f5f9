import { CallClock } from './call-clock';

describe('CallClock', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('expires when idle for idleMs, and progress starts the idle time again', () => {
    const clock = new CallClock(1_000, 10_000);
    jest.advanceTimersByTime(999);
    clock.progress();
    jest.advanceTimersByTime(999);
    expect(clock.signal.aborted).toBe(false);
    jest.advanceTimersByTime(1);
    expect(clock.signal.aborted).toBe(true);
    expect(clock.expired).toBe('idle');
    clock.dispose();
  });

  it('expires at the deadline however often progress comes', () => {
    const clock = new CallClock(1_000, 5_000);
    for (let elapsed = 0; elapsed < 4_900; elapsed += 100) {
      jest.advanceTimersByTime(100);
      clock.progress();
    }
    expect(clock.signal.aborted).toBe(false);
    jest.advanceTimersByTime(100);
    expect(clock.expired).toBe('deadline');
    expect(clock.signal.aborted).toBe(true);
    clock.dispose();
  });

  it("is aborted by the caller's signal with the caller's reason, which is no expiry", () => {
    const caller = new AbortController();
    const clock = new CallClock(null, 5_000, caller.signal);
    const reason = new Error('client went away');
    caller.abort(reason);
    expect(clock.signal.reason).toBe(reason);
    expect(clock.expired).toBeNull();
    jest.advanceTimersByTime(10_000);
    expect(clock.expired).toBeNull();
    clock.dispose();
  });

  it('runs no timer once disposed', () => {
    const clock = new CallClock(1_000, 2_000);
    clock.dispose();
    jest.advanceTimersByTime(5_000);
    expect(clock.signal.aborted).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('stops the idle timeout while held (a relayed request), never the deadline', () => {
    const clock = new CallClock(1_000, 5_000);
    const release = clock.hold();
    jest.advanceTimersByTime(3_000);
    expect(clock.signal.aborted).toBe(false);
    release();
    jest.advanceTimersByTime(999);
    expect(clock.signal.aborted).toBe(false);
    jest.advanceTimersByTime(1);
    expect(clock.expired).toBe('idle');
    clock.dispose();

    const held = new CallClock(1_000, 5_000);
    held.hold();
    jest.advanceTimersByTime(5_000);
    expect(held.expired).toBe('deadline');
    held.dispose();
  });
});
