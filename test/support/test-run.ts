// Names shared by the global setup, the suites and the teardown of one `npm test` run.
export const ADMIN_DATABASE_URL = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function runId(): string {
  const id = process.env.GATEHOUSE_TEST_RUN;
  if (!id) throw new Error('GATEHOUSE_TEST_RUN is not set: run the e2e tests through jest (global setup)');
  return id;
}

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export const templateDatabase = () => `gh_test_${runId()}_template`;
