import { RE2JS } from 're2js';

// Regular expressions whose authors are not trusted with the process (organization admins' policy patterns,
// downstream servers' schema patterns) run on RE2 (re2js): its automata never backtrack, so `(a+)+$` costs what
// `a+$` does. Linear is not free, though: the worst case is (program size × input length) steps of a few tens of
// nanoseconds each, so `(?s).*a.{16}$` against a 4 MiB argument would still hold the event loop for seconds. Hence a
// cap on each program and a budget of steps for each check (a policy decision, an argument validation).

/** Instructions one pattern may compile to: `.{1000}` is 1,000; ordinary patterns are tens. Bounds compile time too. */
export const MAX_PROGRAM_SIZE = 5_000;
/** Program size × input length one check may spend: about 50 ms at re2js's slowest measured rate. */
export const MATCH_BUDGET = 2_000_000;

/** A check ran out of its match budget: the caller refuses what it was checking (fail closed). */
export class MatchBudgetExceeded extends Error {
  constructor() {
    super(`matching would take more than ${MATCH_BUDGET} steps (program size × input length)`);
  }
}

/** A pattern RE2 cannot compile (or that is too large); the message says why, for the person who wrote it. */
export class UnsupportedPatternError extends Error {}

let budget: { remaining: number } | null = null;

/**
 * Runs a synchronous check with one match budget shared by every test inside it (nested checks share the outer
 * one). Module state is safe here only because run() is synchronous: nothing else runs until it returns.
 */
export function withMatchBudget<T>(run: () => T): T {
  if (budget) return run();
  budget = { remaining: MATCH_BUDGET };
  try {
    return run();
  } finally {
    budget = null;
  }
}

/** Charges work other than a LinearRegExp's (e.g. a format check) to the current check's budget. */
export function chargeMatchBudget(units: number): void {
  const account = budget ?? { remaining: MATCH_BUDGET };
  account.remaining -= units;
  if (account.remaining < 0) throw new MatchBudgetExceeded();
}

// What RE2 says is terse ("invalid escape sequence: `\1`"); the common cases get the reason in words.
function explain(source: string, message: string): string {
  if (/\\[1-9]|\\k</.test(source)) return 'backreferences (\\1, \\k<name>) are not supported';
  if (/\(\?<?[=!]/.test(source)) return 'lookahead and lookbehind ((?=, (?!, (?<=, (?<!) are not supported';
  return message.replace(/^error parsing regexp: /, '');
}

/** A compiled RE2 pattern with RegExp's `test` (an unanchored search), charged to the current match budget. */
export class LinearRegExp {
  private constructor(
    readonly source: string,
    private readonly program: RE2JS,
  ) {}

  /** RE2 syntax (https://github.com/google/re2/wiki/Syntax), not translated from JavaScript's: a translation would turn an unsupported `\k<name>` into the literal "k<name>" instead of refusing it. */
  static compile(source: string): LinearRegExp {
    let program: RE2JS;
    try {
      program = RE2JS.compile(source);
    } catch (error) {
      throw new UnsupportedPatternError(explain(source, error instanceof Error ? error.message : String(error)));
    }
    if (program.programSize() > MAX_PROGRAM_SIZE) {
      throw new UnsupportedPatternError(`compiles to ${program.programSize()} instructions, over the limit of ${MAX_PROGRAM_SIZE}`);
    }
    return new LinearRegExp(source, program);
  }

  test(input: string): boolean {
    chargeMatchBudget(this.program.programSize() * (input.length + 1));
    return this.program.test(input);
  }

  // Ajv keys the patterns it shares within a validator by this string.
  toString(): string {
    return `/${this.source}/`;
  }
}

/** Why a pattern cannot be used, or null: the message a validation error carries. */
export function linearRegExpProblem(source: string): string | null {
  try {
    LinearRegExp.compile(source);
    return null;
  } catch (error) {
    if (error instanceof UnsupportedPatternError) return error.message;
    throw error;
  }
}
