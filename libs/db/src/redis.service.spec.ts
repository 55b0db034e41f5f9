import Redis from 'ioredis';
import { AppConfig } from '@gatehouse/config';
import { RedisService } from './redis.service';

const config = AppConfig.from({
  DATABASE_URL: 'postgresql://unused@127.0.0.1/unused',
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  GATEHOUSE_REDIS_PREFIX: `gh_test_redis_service_${process.pid}`,
});

const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
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
    const before = timers();

    await redis.onApplicationShutdown();

    expect(await ended([redis.client, subscriber, bull])).toEqual(['end', 'end', 'end']);
    // ioredis's disconnect of an ended connection arms a 2 s timer that nothing clears: the process (or a test
    // worker) could not exit for that long after shutdown.
    expect(timers()).toBeLessThanOrEqual(before);
  });
});
