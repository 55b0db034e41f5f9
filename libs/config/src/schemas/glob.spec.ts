import { matchesGlob } from './glob';

describe('matchesGlob', () => {
  it.each([
    ['linear-prod_create_*', 'linear-prod_create_issue', true],
    ['linear-prod_create_*', 'linear-prod_update_issue', false],
    ['*', '', true],
    ['', '', true],
    ['', 'a', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['*_delete_*', 'github_delete_repo', true],
    ['*.js', 'server.js', true],
    ['*.js', 'server.jsx', false],
    ['a*b*c', 'aXbYc', true],
    ['a*b*c', 'aXbY', false],
    ['**', 'anything', true],
    ['(x)', '(x)', true],
    ['.*', 'abc', false],
  ])('%s ~ %s is %s', (glob, text, expected) => {
    expect(matchesGlob(glob, text)).toBe(expected);
  });

  // A backtracking regular expression takes hours on the first of these (the test would time out).
  it('stays polynomial on inputs that make backtracking regular expressions explode', () => {
    expect(matchesGlob(`${'*a'.repeat(20)}*b`, `x_${'a'.repeat(60)}`)).toBe(false);
    expect(matchesGlob(`${'*a'.repeat(200)}*b`, 'a'.repeat(10_000))).toBe(false);
  });
});
