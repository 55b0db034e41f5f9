// Redirect URIs and the deployment's allowlist patterns for them (OAuth clients may only send people back to
// places an admin allowed). One module, so the config file, registration and authorization agree.

/** Hosts that plain http is allowed for (development servers, desktop clients' callbacks). */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'file:', 'vbscript:', 'blob:', 'about:', 'ftp:', 'ws:', 'wss:']);

/** Why a redirect URI is unacceptable whatever the allowlist says, or null. */
export function redirectUriProblem(uri: string): string | null {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.hash || uri.includes('#')) return 'must not contain a fragment';
  if (url.username || url.password) return 'must not contain credentials';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:') return LOOPBACK_HOSTS.has(url.hostname) ? null : 'must use https (plain http only for loopback addresses)';
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return `must not use the ${url.protocol} scheme`;
  return null; // an app's private-use scheme (RFC 8252), e.g. cursor://…
}

/** Why an allowlist pattern is unacceptable, or null. "*" may stand for a port, a host label or path segment, or (as a trailing "/*") any path. */
export function redirectPatternProblem(pattern: string): string | null {
  const example = pattern.replace(/:\*(?=\/|$)/, ':1').replace(/\*/g, 'x');
  return redirectUriProblem(example);
}

export function redirectPatternToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const rest = pattern.slice(i);
    if (rest.startsWith(':*') && (rest.length === 2 || rest[2] === '/')) {
      source += '(?::\\d{1,5})?';
      i += 1;
    } else if (rest === '/*') {
      source += '/[^#]*';
      i += 1;
    } else if (rest[0] === '*') {
      source += '[^/?#.:]*';
    } else {
      source += rest[0]!.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

export function matchesRedirectAllowlist(uri: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => redirectPatternToRegExp(pattern).test(uri));
}

// ChatGPT's and Claude's connector callbacks, and loopback for desktop clients and local tools.
export const DEFAULT_REDIRECT_ALLOWLIST: readonly string[] = [
  'https://chatgpt.com/connector_platform_oauth_redirect',
  'https://chatgpt.com/aip/*/oauth/callback',
  'https://claude.ai/api/mcp/auth_callback',
  'https://claude.com/api/mcp/auth_callback',
  'http://127.0.0.1:*/*',
  'http://localhost:*/*',
  'http://[::1]:*/*',
];
