import { AppConfig } from '@gatehouse/config';
import { PrismaService } from './prisma.service';

// Statements only (pg_sleep), no tables: any database of the local server will do.
const config = AppConfig.from({
  DATABASE_URL: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  GATEHOUSE_SECRET_KEY: 'k'.repeat(40),
});

describe('PrismaService transactions', () => {
  const prisma = new PrismaService(config);
  beforeAll(() => prisma.$connect());
  afterAll(() => prisma.onApplicationShutdown());

  it('wait for a connection and last as long as the pool and lock_timeout allow, not Prisma’s 2 s and 5 s', async () => {
    // Twelve transactions of 3 s on a pool of ten: the last two wait 3 s for a connection (Prisma's own limit: 2 s).
    const short = Array.from({ length: 12 }, () => prisma.$transaction((tx) => tx.$executeRaw`SELECT pg_sleep(3)`));
    // One of 6 s in all (Prisma's own limit: 5 s), its statements issued either side of the wait.
    const long = prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT 1`;
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      return tx.$executeRaw`SELECT 1`;
    });
    const settled = await Promise.allSettled([...short, long]);
    expect(settled.filter((result) => result.status === 'rejected')).toEqual([]);
  }, 30_000);
});
