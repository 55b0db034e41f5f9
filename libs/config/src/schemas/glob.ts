/**
 * Whether `text` matches `glob` ("*" any run of characters, "?" any one), in O(|glob|·|text|) at worst: the
 * classic greedy wildcard match, which only ever backtracks to the last "*". Globs come from organization admins
 * and names from downstream servers, so no backtracking regular expression may ever see them.
 */
export function matchesGlob(glob: string, text: string): boolean {
  let g = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (g < glob.length && (glob[g] === '?' || glob[g] === text[t])) {
      g++;
      t++;
    } else if (g < glob.length && glob[g] === '*') {
      star = g++;
      resume = t;
    } else if (star !== -1) {
      g = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (g < glob.length && glob[g] === '*') g++;
  return g === glob.length;
}
