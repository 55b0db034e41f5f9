// What one downstream's catalog may make the gateway hold and compile. Downstreams are untrusted and every
// organization shares the process: Ajv compiles a schema synchronously, taking on the order of a second for a
// 100 KB one, and a schema is held (compiled) for as long as its tool is listed.

/** Bytes of a tool's input schema as JSON: real tools' schemas are a few KiB; the largest seen are tens. */
export const MAX_INPUT_SCHEMA_BYTES = 64 * 1024;
/** Nesting of objects and arrays in an input schema: real ones nest under 10; this bounds Ajv's recursion too. */
export const MAX_INPUT_SCHEMA_DEPTH = 32;
/** Tools served from one connection: the largest real servers list a few hundred; clients cope badly with more. */
export const MAX_TOOLS_PER_CONNECTION = 1000;

// Depth first, so that sizing (JSON.stringify recurses) only ever sees a schema of bounded depth.
function deeperThan(node: unknown, limit: number): boolean {
  if (node === null || typeof node !== 'object') return false;
  if (limit === 0) return true;
  return Object.values(node).some((child) => deeperThan(child, limit - 1));
}

/** Why an input schema is over a limit (naming it), or null. */
export function inputSchemaLimitProblem(schema: unknown): string | null {
  if (deeperThan(schema, MAX_INPUT_SCHEMA_DEPTH)) return `its input schema nests deeper than the limit of ${MAX_INPUT_SCHEMA_DEPTH} levels`;
  const bytes = Buffer.byteLength(JSON.stringify(schema) ?? '');
  if (bytes > MAX_INPUT_SCHEMA_BYTES) return `its input schema is ${bytes} bytes, over the limit of ${MAX_INPUT_SCHEMA_BYTES}`;
  return null;
}

// Prompts, resources and resource templates are held in memory as the downstream listed them (see
// connection-listings.ts): each kind is bounded by count and by bytes, so a downstream listing 100k resources or
// megabyte descriptions costs a bounded amount whatever it sends.
/** Prompts served from one connection. */
export const MAX_PROMPTS_PER_CONNECTION = 1000;
/** Resources served from one connection: a file server can list many; past this, clients should use templates. */
export const MAX_RESOURCES_PER_CONNECTION = 5000;
/** Resource templates served from one connection. */
export const MAX_RESOURCE_TEMPLATES_PER_CONNECTION = 1000;
/** Bytes of one listed prompt, resource or template as JSON (name, description, arguments, _meta). */
export const MAX_LISTED_ENTRY_BYTES = 16 * 1024;
/** Bytes of one kind's whole list from one connection, as JSON. */
export const MAX_LISTING_BYTES = 2 * 1024 * 1024;
