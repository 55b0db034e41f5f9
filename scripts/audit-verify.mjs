#!/usr/bin/env node
// Verifies organizations' audit chains and signed checkpoints against the database, read-only (records not
// yet chained are counted, not chained). Uses the built dist (npm run build) and the gateway's environment
// (DATABASE_URL, GATEHOUSE_SECRET_KEY / GATEHOUSE_AUDIT_SIGNING_KEY).
// Usage: npm run audit:verify [-- --organization <slug>]   Exit: 0 intact, 1 broken, 2 usage or setup error.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const dist = join(import.meta.dirname, '..', 'dist', 'libs');

let options;
try {
  ({ values: options } = parseArgs({ options: { organization: { type: 'string' } } }));
} catch (error) {
  console.error(`audit:verify: ${error.message}\nusage: npm run audit:verify [-- --organization <slug>]`);
  process.exit(2);
}

let modules;
try {
  require('reflect-metadata');
  modules = {
    config: require(join(dist, 'config', 'src')),
    db: require(join(dist, 'db', 'src')),
    audit: require(join(dist, 'audit', 'src')),
  };
} catch (error) {
  console.error(`audit:verify: cannot load the build (${error.message}); run npm run build first`);
  process.exit(2);
}
const { AppConfig, StartupError } = modules.config;
const { PrismaService, SqlPool, AuditRepository, OrganizationRepository } = modules.db;
const { AuditSigner, AuditVerifier } = modules.audit;

let config;
try {
  config = AppConfig.fromEnvironment();
} catch (error) {
  console.error(`audit:verify: ${error instanceof StartupError ? error.message : error}`);
  process.exit(2);
}
const prisma = new PrismaService(config);
const sql = new SqlPool(config);
let broken = false;
try {
  await prisma.$connect();
  const audit = new AuditRepository(prisma, sql);
  const organizations = new OrganizationRepository(prisma);
  const verifier = new AuditVerifier(audit, new AuditSigner(config));
  let targets;
  if (options.organization) {
    const organization = await organizations.findBySlug(options.organization);
    if (!organization) {
      console.error(`audit:verify: no organization with slug ${options.organization}`);
      process.exit(2);
    }
    targets = [{ id: organization.id, label: organization.slug }];
  } else {
    targets = (await audit.organizationsWithRecords()).map((id) => ({ id, label: id }));
  }
  for (const { id, label } of targets) {
    const result = await verifier.verify(id);
    broken ||= !result.ok;
    const checkpoints = `checkpoints ${result.checkpoints.verified} verified, ${result.checkpoints.failed} failed`;
    const summary = `${result.records} records chained up to ${result.chainedUpTo}, ${result.unchained} not yet chained, ${checkpoints}`;
    console.log(
      result.ok
        ? `ok      ${label}: ${summary}`
        : `BROKEN  ${label}: ${result.problem?.message ?? 'broken'}${result.firstBrokenSeq ? ` (first broken seq ${result.firstBrokenSeq})` : ''}; ${summary}`,
    );
  }
  if (targets.length === 0) console.log('audit:verify: no audit records yet');
} finally {
  await sql.onApplicationShutdown();
  await prisma.$disconnect();
}
process.exit(broken ? 1 : 0);
