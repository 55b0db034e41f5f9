// Tool name globs ("linear-prod_create_*"): `*` matches any run of characters, `?` any one, anything else itself.
// Matched by the greedy two-pointer walk, never by a backtracking RegExp: `*a*a*a*a*a*a*b` against 62 characters
// took seconds as a RegExp. On a mismatch only the most recent `*` takes one more character, which is enough
// because any later `*` can absorb whatever an earlier one could; the cost is O(pattern × text) at worst.
export function wildcardMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let starText = 0;
  while (t < text.length) {
    if (pattern[p] === '*') {
      star = p++;
      starText = t;
    } else if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++starText;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
