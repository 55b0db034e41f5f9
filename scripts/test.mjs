#!/usr/bin/env node
// Runs every test (unit and e2e) and closes with one plain summary line that CI can read.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const report = join(mkdtempSync(join(tmpdir(), 'gatehouse-jest-')), 'report.json');
const jest = join(import.meta.dirname, '..', 'node_modules', 'jest', 'bin', 'jest.js');
const result = spawnSync(
  process.execPath,
  [jest, '--ci', '--maxWorkers=2', '--json', `--outputFile=${report}`, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
let summary;
try {
  summary = JSON.parse(readFileSync(report, 'utf8'));
} catch {
  console.error('jest produced no report');
  process.exit(result.status || 1);
}
const { numPassedTests, numFailedTests, numPendingTests, numTotalTests } = summary;
console.log(`\nTests: ${numPassedTests} passed, ${numFailedTests} failed${numPendingTests ? `, ${numPendingTests} skipped` : ''}`);
if (numTotalTests === 0) {
  console.error('No tests ran');
  process.exit(1);
}
process.exit(result.status ?? 1);
