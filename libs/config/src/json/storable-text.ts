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
  // Every call's arguments pass here: the common answer (none) is found without building a path for each member.
  return storableThroughout(value) ? null : pathOfUnstorable(value, root);
}

function storableThroughout(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'string') {
      if (!isStorableText(item)) return false;
    } else if (Array.isArray(item)) {
      for (const entry of item) pending.push(entry);
    } else if (item !== null && typeof item === 'object') {
      for (const key of Object.keys(item)) {
        if (!isStorableText(key)) return false;
        pending.push((item as Record<string, unknown>)[key]);
      }
    }
  }
  return true;
}

function pathOfUnstorable(value: unknown, root: string): string | null {
  const pending: [unknown, string][] = [[value, root]];
  while (pending.length > 0) {
    const [item, path] = pending.pop()!;
    if (typeof item === 'string') {
      if (!isStorableText(item)) return path;
    } else if (Array.isArray(item)) {
      item.forEach((entry, index) => pending.push([entry, `${path}.${index}`]));
    } else if (item !== null && typeof item === 'object') {
      for (const [key, entry] of Object.entries(item)) {
        if (!isStorableText(key)) return path;
        pending.push([entry, `${path}.${key}`]);
      }
    }
  }
  return null;
}
