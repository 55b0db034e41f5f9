import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { ADMIN_DATABASE_URL, databaseUrl, templateDatabase } from './test-run';

// Migrations are applied once per run, to a template; every suite clones it (CREATE DATABASE … TEMPLATE),
// which takes milliseconds and gives each suite a fresh, isolated database.
export default async function globalSetup(): Promise<void> {
  process.env.GATEHOUSE_TEST_RUN ??= randomBytes(4).toString('hex');
  const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${templateDatabase()}"`);
  } finally {
    await admin.end();
  }
  const root = join(__dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'node_modules', 'prisma', 'build', 'index.js'), 'migrate', 'deploy'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl(templateDatabase()) },
    stdio: 'pipe',
  });
}
