import { canonicalJson } from '../catalog/canonical-json';

/** One field that differs between a pinned and a changed tool definition. */
export interface DefinitionChange {
  /** Where: `description`, `annotations.destructiveHint`, `inputSchema.properties.query.description`. */
  path: string;
  change: 'added' | 'removed' | 'changed';
  /** Absent when the field was added. */
  before?: unknown;
  /** Absent when the field was removed. */
  after?: unknown;
}

// The fields that make up a definition's hash besides the name (the pin is looked up by name, so it never
// differs), in the order a reviewer reads them.
const REVIEWED_FIELDS = ['title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function childPath(parent: string, key: string): string {
  return IDENTIFIER.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

function compare(path: string, before: unknown, after: unknown, changes: DefinitionChange[]): void {
  if (before === undefined && after === undefined) return;
  if (before === undefined) {
    changes.push({ path, change: 'added', after });
    return;
  }
  if (after === undefined) {
    changes.push({ path, change: 'removed', before });
    return;
  }
  // Objects (schemas, annotations) are compared key by key so a one-word change deep in a schema shows as
  // that one field; arrays (`required`, `enum`) and scalars are compared whole.
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const key of keys) compare(childPath(path, key), before[key], after[key], changes);
    return;
  }
  if (canonicalJson(before) !== canonicalJson(after)) changes.push({ path, change: 'changed', before, after });
}

/** The fields a reviewer must read to accept a changed definition; empty when the two hash equally. */
export function diffToolDefinitions(
  pinned: Record<string, unknown>,
  changed: Record<string, unknown>,
): DefinitionChange[] {
  const changes: DefinitionChange[] = [];
  for (const field of REVIEWED_FIELDS) compare(field, pinned[field], changed[field], changes);
  return changes;
}
