// The reversible codec between a downstream's resource URIs (and RFC 6570 URI templates) and the URIs a client sees
// through the aggregated /mcp. The scheme is kept, because hosts look for it (ChatGPT and MCP Apps render `ui://`):
//
//   hierarchical  scheme://rest   ⇄  scheme://<connection>/rest      ui://widget/a.html ⇄ ui://docs/widget/a.html
//                                                                    file:///etc/x      ⇄ file://docs//etc/x
//   opaque        scheme:rest     ⇄  scheme:<connection>:rest        urn:isbn:123       ⇄ urn:docs:isbn:123
//
// Whether `//` follows the scheme decides the form both ways, so the two never meet; connection names cannot hold
// `/` or `:`. A URI without a scheme, or over the length limit, has no exposed form: it is left out of lists.

/** Longer URIs are neither listed nor accepted: real ones are short, and a request names one in full. */
export const MAX_RESOURCE_URI_LENGTH = 4096;

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const CONNECTION = /^[a-z0-9][a-z0-9-]{0,31}$/;
// RFC 6570 varspec: a varname of varchars (ALPHA, DIGIT, "_", pct-encoded) joined by ".", then a prefix or explode.
const VARSPEC = /^(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})+(?:\.(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})+)*(?::[1-9][0-9]{0,3}|\*)?$/;

/** A downstream URI of one connection. */
export interface DownstreamUri {
  connection: string;
  uri: string;
}

/**
 * Why a URI is refused outright, or null: over the length limit, control characters, or dot segments (`.`, `..`, also
 * percent-encoded), which a server may resolve to a path no policy rule's glob saw.
 */
export function uriProblem(uri: string): string | null {
  if (uri.length > MAX_RESOURCE_URI_LENGTH) return `it is ${uri.length} characters long, over the limit of ${MAX_RESOURCE_URI_LENGTH}`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(uri)) return 'it contains control characters';
  const path = uri.split(/[?#]/, 1)[0]!;
  if (path.split(/[/\\]/).some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment))) return 'it contains a "." or ".." path segment';
  return null;
}

/** The exposed form of a downstream URI, or null when it has none (no scheme, or refused by uriProblem). */
export function exposeUri(connection: string, uri: string): string | null {
  if (uriProblem(uri)) return null;
  const scheme = SCHEME.exec(uri)?.[1];
  if (!scheme) return null;
  const rest = uri.slice(scheme.length + 1);
  const exposed = rest.startsWith('//') ? `${scheme}://${connection}/${rest.slice(2)}` : `${scheme}:${connection}:${rest}`;
  return exposed.length > MAX_RESOURCE_URI_LENGTH ? null : exposed;
}

/** The connection and downstream URI an exposed URI stands for, or null when this codec did not produce it. */
export function resolveExposedUri(exposed: string): DownstreamUri | null {
  if (uriProblem(exposed)) return null;
  const scheme = SCHEME.exec(exposed)?.[1];
  if (!scheme) return null;
  const rest = exposed.slice(scheme.length + 1);
  const hierarchical = rest.startsWith('//');
  const body = hierarchical ? rest.slice(2) : rest;
  const end = body.indexOf(hierarchical ? '/' : ':');
  if (end <= 0) return null;
  const connection = body.slice(0, end);
  if (!CONNECTION.test(connection)) return null;
  const tail = body.slice(end + 1);
  return { connection, uri: hierarchical ? `${scheme}://${tail}` : `${scheme}:${tail}` };
}

/**
 * The exposed form of a URI template: the same codec, so a URI expanded from the exposed template resolves to the one
 * the downstream's template expands to. Null when the template does not parse (RFC 6570 level 4 expressions) or has
 * no literal scheme.
 */
export function exposeUriTemplate(connection: string, template: string): string | null {
  // The scheme must be literal (SCHEME stops at a brace); the codec's prefix then comes before every expression.
  return isUriTemplate(template) ? exposeUri(connection, template) : null;
}

/** Braces balanced and unnested, each expression an operator and varspecs. */
export function isUriTemplate(template: string): boolean {
  let at = 0;
  for (;;) {
    const open = template.indexOf('{', at);
    const close = template.indexOf('}', at);
    if (open < 0) return close < 0;
    if (close < open) return false;
    const expression = template.slice(open + 1, close);
    if (expression.includes('{')) return false;
    const specs = /^[+#./;?&]/.test(expression) ? expression.slice(1) : expression;
    if (!specs.split(',').every((spec) => VARSPEC.test(spec))) return false;
    at = close + 1;
  }
}
