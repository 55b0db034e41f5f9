// PostgreSQL's text and jsonb cannot hold U+0000, and jsonb (like Prisma's query protocol) refuses an unpaired
// UTF-16 surrogate, which is not Unicode text at all. JSON and percent-encoding can carry both, so input is checked
// for them once, at the edge, and refused as invalid rather than failing deep inside a query.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

/** The text with each character PostgreSQL cannot store replaced by U+FFFD: for what must be kept, not refused (a downstream's reply). */
export function storableText(text: string): string {
  return text.replace(UNSTORABLE_ALL, '\ufffd');
}

/**
 * Where in `value` (strings, and the keys and items of objects and arrays) the first text PostgreSQL cannot store
 * sits, as a dotted path under `root`; null when there is none. Iterative, so deeply nested JSON cannot exhaust
 * the stack.
 */
export function unstorableTextAt(value: unknown, root: string): string | null {
  // Every call's arguments pass here: the common answer (none) is found first without building a path per member.
  if (firstUnstorable(value, null, () => null) === undefined) return null;
  return firstUnstorable(value, root, (path, key) => `${path}.${key}`) ?? null;
}

// Where the first unstorable text is, as `child` builds the path from `root`; undefined when there is none.
function firstUnstorable<P>(value: unknown, root: P, child: (path: P, key: string | number) => P): P | undefined {
  const pending: [unknown, P][] = [[value, root]];
  while (pending.length > 0) {
    const [item, path] = pending.pop()!;
    if (typeof item === 'string') {
      if (!isStorableText(item)) return path;
    } else if (Array.isArray(item)) {
      item.forEach((entry, index) => pending.push([entry, child(path, index)]));
    } else if (item !== null && typeof item === 'object') {
      for (const key of Object.keys(item)) {
        if (!isStorableText(key)) return path;
        pending.push([(item as Record<string, unknown>)[key], child(path, key)]);
      }
    }
  }
  return undefined;
}
