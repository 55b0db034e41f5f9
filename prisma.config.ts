import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';

// These machines cannot download Prisma's native engines; pointing the variables at this file stops the CLI
// from trying, while the JS engine (query compiler as WebAssembly + the pg adapter) does the work.
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= __filename;
process.env.PRISMA_QUERY_ENGINE_LIBRARY ??= __filename;

// eslint-disable-next-line import/first -- must load after the variables above are set
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  experimental: { adapter: true },
  engine: 'js',
  async adapter() {
    return new PrismaPg({ connectionString: process.env.DATABASE_URL! });
  },
});
