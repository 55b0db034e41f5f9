// Key-sorted JSON with no whitespace, so that equal values hash equally whatever order their keys arrive in
// (tool definitions, approval arguments, audit records). Built by concatenation: it runs for every audit record.
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let text = '[';
    for (let i = 0; i < value.length; i++) text += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return `${text}]`;
  }
  const object = value as Record<string, unknown>;
  const keys = sortedKeys(object);
  let text = '{';
  for (const key of keys) {
    const item = object[key];
    if (item === undefined) continue;
    text += `${text.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalJson(item)}`;
  }
  return `${text}}`;
}

// By UTF-16 code units, as JSON canonicalization wants (and as < compares strings). Objects here are small: an
// insertion sort in place spares Array.prototype.sort's work array on every record.
function sortedKeys(object: Record<string, unknown>): string[] {
  const keys = Object.keys(object);
  if (keys.length > 16) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    for (; j >= 0 && keys[j]! > key; j--) keys[j + 1] = keys[j]!;
    keys[j + 1] = key;
  }
  return keys;
}
