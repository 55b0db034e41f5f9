import fc from 'fast-check';
import { wildcardMatches } from './wildcard';

// The backtracking translation this matcher replaced: the reference for small inputs, where it is fast.
const reference = (glob: string, text: string) =>
  new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(text);

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

  // A backtracking RegExp takes minutes on the first and far longer on the second: the test timeout is the assertion.
  it('answers pathological globs where a backtracking RegExp does not', () => {
    expect(wildcardMatches('*a*a*a*a*a*a*a*a*b', `x_${'a'.repeat(60)}`)).toBe(false);
    // The longest glob the schema allows (128 characters), against a long name.
    expect(wildcardMatches(`${'*a'.repeat(63)}*b`, 'a'.repeat(200))).toBe(false);
  });
});
