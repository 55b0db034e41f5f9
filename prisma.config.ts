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
    const factory = new PrismaPg({ connectionString: process.env.DATABASE_URL! });
    const connect = factory.connect.bind(factory);
    // The pg adapter runs a migration script by splitting it at every ";", which cuts a function body (dollar-quoted,
    // with statements of its own) apart. PostgreSQL runs a whole script sent as one simple query, as one transaction.
    factory.connect = async () => {
      const adapter = await connect();
      const { client, onError } = adapter as unknown as { client: { query(text: string): Promise<unknown> }; onError(error: unknown): never };
      adapter.executeScript = async (script: string) => {
        await client.query(script).catch((error: unknown) => onError.call(adapter, error));
      };
      return adapter;
    };
    return factory;
  },
});
