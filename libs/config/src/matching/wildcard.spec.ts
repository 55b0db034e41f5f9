import fc from 'fast-check';
import { wildcardMatches } from './wildcard';

// The backtracking translation this matcher replaced: the reference for small inputs, where it is fast.
const reference = (glob: string, text: string) =>
  new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(text);

/** Mean microseconds per call over many calls, so one GC pause on a busy machine cannot decide the outcome. */
function microsPerCall(run: () => void, calls = 2_000): number {
  const started = performance.now();
  for (let i = 0; i < calls; i++) run();
  return ((performance.now() - started) * 1000) / calls;
}

describe('wildcardMatches', () => {
  it.each([
    ['linear-prod_create_*', 'linear-prod_create_issue', true],
    ['linear-prod_create_*', 'linear-prod_update_issue', false],
    ['*_create_*', 'github_create_pr', true],
    ['tools_?cho', 'tools_echo', true],
    ['tools_?cho', 'tools_cho', false],
    ['*', '', true],
    ['', '', true],
    ['', 'a', false],
    ['a*', 'a', true],
    ['*a', 'ba', true],
    ['*a', 'ab', false],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbYcZ', false],
    ['**', 'anything', true],
    ['x_*a*b', 'x_aaab', true],
  ])('%s against %s is %s', (glob, text, expected) => {
    expect(wildcardMatches(glob, text)).toBe(expected);
  });

  it('agrees with the regular-expression translation on every small input', () => {
    const glob = fc.stringMatching(/^[ab*?]{0,8}$/);
    const text = fc.stringMatching(/^[ab]{0,10}$/);
    fc.assert(fc.property(glob, text, (g, t) => wildcardMatches(g, t) === reference(g, t)), { seed: 20261206, numRuns: 5_000 });
  });

  it('answers pathological globs in microseconds, where a backtracking RegExp took seconds', () => {
    const name = `x_${'a'.repeat(60)}`;
    expect(wildcardMatches('*a*a*a*a*a*a*a*a*b', name)).toBe(false);
    expect(microsPerCall(() => wildcardMatches('*a*a*a*a*a*a*a*a*b', name))).toBeLessThan(50);
    // The longest glob the schema allows (128 characters), against a long name.
    const longest = `${'*a'.repeat(63)}*b`;
    expect(microsPerCall(() => wildcardMatches(longest, 'a'.repeat(200)), 200)).toBeLessThan(500);
  });
});
