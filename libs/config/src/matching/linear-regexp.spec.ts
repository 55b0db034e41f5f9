import { policyRuleSchema } from '../schemas/policy.schema';
import { LinearRegExp, linearRegExpProblem, MATCH_BUDGET, MatchBudgetExceeded, MAX_PROGRAM_SIZE, UnsupportedPatternError, withMatchBudget } from './linear-regexp';

describe('LinearRegExp', () => {
  it('searches like RegExp.test', () => {
    expect(LinearRegExp.compile('^/etc/').test('/etc/passwd')).toBe(true);
    expect(LinearRegExp.compile('^/etc/').test('/home/etc/')).toBe(false);
    expect(LinearRegExp.compile('prod').test('deploy-prod-eu')).toBe(true);
    expect(LinearRegExp.compile('(?i)^abc$').test('ABC')).toBe(true);
    expect(String(LinearRegExp.compile('a+'))).toBe('/a+/');
  });

  // A backtracking engine takes far longer than jest lets a test run on these: the timeout is the assertion.
  it('runs patterns that make backtracking engines explode in linear time', () => {
    const hostile = `${'a'.repeat(40)}!`;
    for (const pattern of ['(a+)+$', '^(a+)+$', '^(a|a)*$', '(a*)*b']) {
      expect(LinearRegExp.compile(pattern).test(hostile)).toBe(false);
    }
  });

  it('refuses what RE2 cannot run, saying why', () => {
    expect(linearRegExpProblem('(a)\\1')).toBe('backreferences (\\1, \\k<name>) are not supported');
    expect(linearRegExpProblem('(?<n>a)\\k<n>')).toBe('backreferences (\\1, \\k<name>) are not supported');
    expect(linearRegExpProblem('a(?=b)')).toBe('lookahead and lookbehind ((?=, (?!, (?<=, (?<!) are not supported');
    expect(linearRegExpProblem('(?<!a)b')).toBe('lookahead and lookbehind ((?=, (?!, (?<=, (?<!) are not supported');
    expect(linearRegExpProblem('(')).toBe('missing closing ): `(`');
    expect(linearRegExpProblem('.{1000}.{1000}.{1000}.{1000}.{1000}.{1000}')).toMatch(new RegExp(`over the limit of ${MAX_PROGRAM_SIZE}`));
    expect(() => LinearRegExp.compile('(?=x)')).toThrow(UnsupportedPatternError);
  });

  it('charges each check for program size × input length and stops it past the budget', () => {
    const pattern = LinearRegExp.compile('(?s).*a.{16}$');
    const long = 'ab'.repeat(MATCH_BUDGET / 10);
    // Alone, one test has the whole budget; within a check, every test shares it.
    expect(() => pattern.test(long)).toThrow(MatchBudgetExceeded);
    const short = 'ab'.repeat(1_000);
    expect(withMatchBudget(() => pattern.test(short))).toBe(false);
    expect(() => withMatchBudget(() => Array.from({ length: 100 }, () => pattern.test(short)))).toThrow(MatchBudgetExceeded);
    // The budget ends with its check.
    expect(pattern.test(short)).toBe(false);
  });
});

describe('policy argument patterns', () => {
  const withPattern = (matches: string) => ({ name: 'x', effect: 'deny', match: { arguments: [{ path: 'a', matches }] } });

  it('are refused when RE2 cannot run them, with the reason', () => {
    const result = policyRuleSchema.safeParse(withPattern('^(\\w+)\\1$'));
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('must be a valid regular expression in RE2 syntax: backreferences (\\1, \\k<name>) are not supported');
    expect(policyRuleSchema.safeParse(withPattern('^(?!admin)')).error?.issues[0]?.message).toMatch(/lookahead and lookbehind/);
    expect(policyRuleSchema.safeParse(withPattern('x'.repeat(501))).success).toBe(false);
    expect(policyRuleSchema.safeParse(withPattern('(a+)+$')).success).toBe(true);
  });
});
