// The test browser's cookies, kept per origin (RFC 6265 without Domain): what a real browser would send back.
export interface StoredCookie {
  name: string;
  value: string;
  path: string;
  /** Epoch milliseconds; undefined for a session cookie. */
  expiresAt?: number;
  httpOnly: boolean;
  secure: boolean;
  sameSite?: string;
}

export class CookieJar {
  private readonly byOrigin = new Map<string, StoredCookie[]>();

  /** The live cookies of `url`'s origin, copies. */
  list(url: URL): StoredCookie[] {
    return (this.byOrigin.get(url.origin) ?? []).filter((cookie) => !isExpired(cookie)).map((cookie) => ({ ...cookie }));
  }

  clear(): void {
    this.byOrigin.clear();
  }

  /** The Cookie header for a request to `url`. */
  header(url: URL): string {
    const matching = (this.byOrigin.get(url.origin) ?? [])
      .filter((cookie) => !isExpired(cookie) && pathMatches(url.pathname, cookie.path))
      // RFC 6265 5.4: longer paths first.
      .sort((a, b) => b.path.length - a.path.length);
    return matching.map((cookie) => (cookie.name ? `${cookie.name}=${cookie.value}` : cookie.value)).join('; ');
  }

  /** Takes in a response's Set-Cookie headers. */
  store(url: URL, setCookies: string[]): void {
    if (setCookies.length === 0) return;
    const cookies = (this.byOrigin.get(url.origin) ?? []).filter((cookie) => !isExpired(cookie));
    for (const header of setCookies) {
      const parsed = parseSetCookie(header, url);
      if (!parsed) continue;
      const index = cookies.findIndex((cookie) => cookie.name === parsed.name && cookie.path === parsed.path);
      if (index >= 0) cookies.splice(index, 1);
      if (!isExpired(parsed)) cookies.push(parsed);
    }
    this.byOrigin.set(url.origin, cookies);
  }
}

function isExpired(cookie: StoredCookie): boolean {
  return cookie.expiresAt !== undefined && cookie.expiresAt <= Date.now();
}

// RFC 6265 5.1.4.
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

// RFC 6265 5.2, without Domain: cookies are kept per origin.
function parseSetCookie(header: string, url: URL): StoredCookie | null {
  const [pair, ...attributes] = header.split(';');
  const equals = pair.indexOf('=');
  const name = equals >= 0 ? pair.slice(0, equals).trim() : '';
  const value = equals >= 0 ? pair.slice(equals + 1).trim() : pair.trim();
  if (!name && !value) return null;
  const cookie: StoredCookie = { name, value, path: defaultPath(url), httpOnly: false, secure: false };
  let maxAge: number | undefined;
  let expires: number | undefined;
  for (const attribute of attributes) {
    const split = attribute.indexOf('=');
    const key = (split >= 0 ? attribute.slice(0, split) : attribute).trim().toLowerCase();
    const argument = split >= 0 ? attribute.slice(split + 1).trim() : '';
    if (key === 'path' && argument.startsWith('/')) cookie.path = argument;
    else if (key === 'max-age' && /^-?\d+$/.test(argument)) maxAge = Number(argument);
    else if (key === 'expires' && !Number.isNaN(Date.parse(argument))) expires = Date.parse(argument);
    else if (key === 'httponly') cookie.httpOnly = true;
    else if (key === 'secure') cookie.secure = true;
    else if (key === 'samesite') cookie.sameSite = argument;
  }
  if (maxAge !== undefined) cookie.expiresAt = maxAge <= 0 ? 0 : Date.now() + maxAge * 1000;
  else if (expires !== undefined) cookie.expiresAt = expires;
  return cookie;
}

function defaultPath(url: URL): string {
  const path = url.pathname;
  if (!path.startsWith('/') || path.lastIndexOf('/') === 0) return '/';
  return path.slice(0, path.lastIndexOf('/'));
}

