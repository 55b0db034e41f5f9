#!/usr/bin/env node
// Writes a new migration from the difference between the committed schema (HEAD) and the working one.
// `prisma migrate dev` needs a shadow database the JS engine cannot create; a schema-to-schema diff needs none.
// Usage: npm run db:diff -- <migration_name>
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npm run db:diff -- <migration_name> (lower-case letters, digits, _)');
  process.exit(2);
}
const root = join(import.meta.dirname, '..');
const previous = join(mkdtempSync(join(tmpdir(), 'gatehouse-schema-')), 'schema.prisma');
writeFileSync(previous, execFileSync('git', ['show', 'HEAD:prisma/schema.prisma'], { cwd: root }));
const sql = execFileSync(
  process.execPath,
  [join(root, 'node_modules/prisma/build/index.js'), 'migrate', 'diff', '--from-schema-datamodel', previous,
    '--to-schema-datamodel', 'prisma/schema.prisma', '--script'],
  // The config's adapter wants a URL even though a schema-to-schema diff never connects.
  { cwd: root, env: { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/postgres', ...process.env } },
);
const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
const dir = join(root, 'prisma', 'migrations', `${stamp}_${name}`);
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'migration.sql'), sql);
console.log(`wrote ${join('prisma', 'migrations', `${stamp}_${name}`, 'migration.sql')}`);
