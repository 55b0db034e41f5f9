// Pure redaction of JSON values (tools/call arguments and results) before they reach the audit log.

/** Replaces one secret value with something that correlates (equal in, equal out) but does not reveal it. */
export type Mask = (value: unknown) => string;

// Words that name a secret, alone or inside a longer snake, kebab or camel name (accessToken, x-api-key).
const SECRET_WORDS = new Set(['password', 'passwd', 'secret', 'token', 'authorization', 'apikey', 'cookie', 'session']);
const SECRET_PAIRS = new Set(['api key', 'access key', 'private key', 'client secret']);

/** Whether a key names a secret: password, token, api_key, clientSecret, Set-Cookie… (case-insensitive). */
export function isSecretKey(key: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    // Plurals too: tokens, cookies, passwords.
    if (SECRET_WORDS.has(word) || (word.endsWith('s') && SECRET_WORDS.has(word.slice(0, -1)))) return true;
    if (i + 1 < words.length && SECRET_PAIRS.has(`${word} ${words[i + 1]}`)) return true;
  }
  return false;
}

/** One step of a compiled path: a child by name, any child, or a named descendant at any depth. */
type Step = { kind: 'child'; name: string } | { kind: 'any' } | { kind: 'descendant'; name: string };
export type RedactPath = Step[];

/** `$.customer.ssn`, `$.items[*].card`, `$..pin`, `$.*` (the grammar of REDACT_PATH_PATTERN). */
export function compileRedactPath(path: string): RedactPath {
  const steps: RedactPath = [];
  const pattern = /\.\.([A-Za-z_][A-Za-z0-9_-]*)|\.([A-Za-z_][A-Za-z0-9_-]*)|\[\*\]|\.\*/gy;
  pattern.lastIndex = 1; // after "$"
  if (!path.startsWith('$')) throw new Error(`Not a redaction path: ${path}`);
  while (pattern.lastIndex < path.length) {
    const match = pattern.exec(path);
    if (!match) throw new Error(`Not a redaction path: ${path}`);
    if (match[1] !== undefined) steps.push({ kind: 'descendant', name: match[1] });
    else if (match[2] !== undefined) steps.push({ kind: 'child', name: match[2] });
    else steps.push({ kind: 'any' });
  }
  return steps;
}

/** A position in one path: `path` index and how many of its steps are matched. */
type State = readonly [number, number];

/**
 * A copy of `value` in which every value under a secret key (isSecretKey) or matched by one of `paths` is
 * replaced by mask(value). Values that are not plain JSON containers are copied as they are.
 */
export function redact(value: unknown, paths: readonly RedactPath[], mask: Mask): unknown {
  const start: State[] = paths.map((_, i) => [i, 0] as const);
  return walk(value, start, paths, mask);
}

function walk(value: unknown, states: readonly State[], paths: readonly RedactPath[], mask: Mask): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => {
      const next = advance(states, null, paths);
      return next === 'match' ? mask(item) : walk(item, next, paths, mask);
    });
  }
  if (typeof value !== 'object' || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const next = isSecretKey(key) ? 'match' : advance(states, key, paths);
    copy[key] = next === 'match' ? mask(item) : walk(item, next, paths, mask);
  }
  return copy;
}

// The states after stepping into a child (key null: an array element), or 'match' when a path ends there.
function advance(states: readonly State[], key: string | null, paths: readonly RedactPath[]): State[] | 'match' {
  const next: State[] = [];
  for (const [path, position] of states) {
    const steps = paths[path]!;
    const step = steps[position];
    if (!step) continue;
    const matched = step.kind === 'any' || (key !== null && step.name === key);
    if (matched) {
      if (position + 1 === steps.length) return 'match';
      next.push([path, position + 1]);
    }
    // `..name` keeps looking below every child, objects' and arrays' alike.
    if (step.kind === 'descendant') next.push([path, position]);
  }
  return next;
}
