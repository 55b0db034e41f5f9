import Redis from 'ioredis';
import { AppConfig } from '@gatehouse/config';
import { RedisService } from './redis.service';

const config = AppConfig.from({
  DATABASE_URL: 'postgresql://unused@127.0.0.1/unused',
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  GATEHOUSE_REDIS_PREFIX: `gh_test_redis_service_${process.pid}`,
});

/**
 * Timers armed while the spy is on that are still pending (neither fired nor cleared) and would hold the process.
 * Only this test's: a count of the process's timers would also see what other specs run by the same worker left.
 */
function watchTimers(): { stop(): void; holding(): number } {
  const pending = new Set<NodeJS.Timeout>();
  const { setTimeout: arm, clearTimeout: disarm } = globalThis;
  const armSpy = jest.spyOn(globalThis, 'setTimeout').mockImplementation(((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const timer = arm(() => {
      pending.delete(timer);
      callback(...args);
    }, ms);
    pending.add(timer);
    return timer;
  }) as unknown as typeof setTimeout);
  const disarmSpy = jest.spyOn(globalThis, 'clearTimeout').mockImplementation(((timer: NodeJS.Timeout | undefined) => {
    if (timer) pending.delete(timer);
    disarm(timer);
  }) as typeof clearTimeout);
  return {
    stop: () => {
      armSpy.mockRestore();
      disarmSpy.mockRestore();
    },
    holding: () => [...pending].filter((timer) => timer.hasRef()).length,
  };
}
const ended = async (connections: Redis[]) => {
  for (let waited = 0; waited < 2_000 && connections.some((connection) => connection.status !== 'end'); waited += 10) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return connections.map((connection) => connection.status);
};

describe('RedisService shutdown', () => {
  it('ends every connection, one its owner closed already too, and leaves no timer holding the process', async () => {
    const redis = new RedisService(config);
    const subscriber = redis.createSubscriber();
    const bull = redis.createBullConnection();
    await redis.onModuleInit();
    await subscriber.subscribe(redis.key('events'));
    // A connection its user ended already, as BullMQ ends its own.
    await bull.quit();
    expect(await ended([bull])).toEqual(['end']);
    const timers = watchTimers();

    try {
      await redis.onApplicationShutdown();
      expect(await ended([redis.client, subscriber, bull])).toEqual(['end', 'end', 'end']);
      // ioredis's disconnect of an ended connection arms a 2 s timer that nothing clears: the process (or a test
      // worker) could not exit for that long after shutdown.
      expect(timers.holding()).toBe(0);
    } finally {
      timers.stop();
    }
  });
});
