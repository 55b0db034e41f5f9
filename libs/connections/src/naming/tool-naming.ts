import { createHash } from 'node:crypto';

export const EXPOSED_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;
const MAX_LENGTH = 64;
const HASH_LENGTH = 8;

/**
 * `<connection>_<tool>` when that is a valid name; otherwise the tool part is made safe and shortened,
 * with a hash of the original tool name, so the result is valid, stable across restarts and distinct
 * for distinct tools. The connection prefix is always kept whole, so the first underscore still routes.
 */
export function exposedToolName(connection: string, tool: string): string {
  const candidate = `${connection}_${tool}`;
  if (EXPOSED_NAME_PATTERN.test(candidate)) return candidate;
  const hash = createHash('sha256').update(tool).digest('hex').slice(0, HASH_LENGTH);
  const room = MAX_LENGTH - connection.length - 1 - 1 - HASH_LENGTH;
  const safe = tool.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, room);
  return `${connection}_${safe}-${hash}`;
}

export function connectionOf(exposedName: string): string | null {
  const split = exposedName.indexOf('_');
  return split > 0 ? exposedName.slice(0, split) : null;
}

export interface NamedTool<T> {
  exposedName: string;
  tool: T;
}

/** Names every tool of a connection; a tool whose name is taken (duplicate or collision) is left out. */
export function nameTools<T extends { name: string }>(
  connection: string,
  tools: readonly T[],
): { named: NamedTool<T>[]; rejected: string[] } {
  const taken = new Set<string>();
  const named: NamedTool<T>[] = [];
  const rejected: string[] = [];
  for (const tool of tools) {
    const exposedName = exposedToolName(connection, tool.name);
    if (taken.has(exposedName)) {
      rejected.push(tool.name);
      continue;
    }
    taken.add(exposedName);
    named.push({ exposedName, tool });
  }
  return { named, rejected };
}
