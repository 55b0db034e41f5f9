#!/usr/bin/env node
// Runs every test (unit and e2e) and closes with one plain summary line that CI can read.
//
// Two phases: everything in parallel, then the suites that measure latency against a bound the issue sets
// (a bystander answered within 100 ms) on their own, so that what they measure is the gateway and not the
// neighbouring suites competing for the same CPUs. With arguments, jest runs once with them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ALONE = ['test/e2e/hostile-patterns.e2e-spec.ts'];
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-jest-'));
const jest = join(import.meta.dirname, '..', 'node_modules', 'jest', 'bin', 'jest.js');

function run(name, args) {
  const report = join(dir, `${name}.json`);
  const result = spawnSync(process.execPath, [jest, '--ci', '--json', `--outputFile=${report}`, ...args], {
    stdio: 'inherit',
  });
  try {
    return { status: result.status ?? 1, summary: JSON.parse(readFileSync(report, 'utf8')) };
  } catch {
    console.error(`jest produced no report (${name})`);
    process.exit(result.status || 1);
  }
}

const given = process.argv.slice(2);
const phases = given.length
  ? [run('given', ['--maxWorkers=2', ...given])]
  : [
      run('parallel', ['--maxWorkers=2', '--testPathIgnorePatterns', '/node_modules/', ...ALONE]),
      run('alone', ['--runInBand', '--selectProjects', 'e2e', '--', ...ALONE]),
    ];

const total = (key) => phases.reduce((sum, { summary }) => sum + summary[key], 0);
const [passed, failed, skipped] = ['numPassedTests', 'numFailedTests', 'numPendingTests'].map(total);
console.log(`\nTests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (total('numTotalTests') === 0) {
  console.error('No tests ran');
  process.exit(1);
}
process.exit(phases.find(({ status }) => status !== 0)?.status ?? 0);
