import { BullModule } from '@nestjs/bullmq';
import { RedisService } from './redis.service';

/**
 * The BullMQ connection, shared by every module that produces or consumes jobs (one object, so Nest
 * registers it once); the queue prefix keeps deployments (and test runs) apart.
 */
export const BullRootModule = BullModule.forRootAsync({
  inject: [RedisService],
  useFactory: (redis: RedisService) => ({
    connection: redis.createBullConnection(),
    prefix: redis.key('bull'),
  }),
});
