import { exposeUri, exposeUriTemplate, isUriTemplate, MAX_RESOURCE_URI_LENGTH, resolveExposedUri, uriProblem } from './resource-uri';

describe('resource URI codec', () => {
  it.each([
    ['ui://widget/board.html', 'ui://docs/widget/board.html'],
    ['file:///etc/hosts', 'file://docs//etc/hosts'],
    ['https://example.com/a?b=c#d', 'https://docs/example.com/a?b=c#d'],
    ['urn:isbn:0451450523', 'urn:docs:isbn:0451450523'],
    ['mailto:a@example.com', 'mailto:docs:a@example.com'],
    ['x:', 'x:docs:'],
    ['x://', 'x://docs/'],
  ])('keeps the scheme and round-trips %s', (uri, exposed) => {
    expect(exposeUri('docs', uri)).toBe(exposed);
    expect(resolveExposedUri(exposed)).toEqual({ connection: 'docs', uri });
  });

  it('never confuses the hierarchical and opaque forms', () => {
    for (const uri of ['a://:b', 'a:/:b', 'a:docs:b', 'a://docs/b', 'a:///b']) {
      expect(resolveExposedUri(exposeUri('docs', uri)!)).toEqual({ connection: 'docs', uri });
    }
  });

  it('has no exposed form for URIs without a scheme, with control characters, or too long', () => {
    expect(exposeUri('docs', 'relative/path')).toBeNull();
    expect(exposeUri('docs', '://x')).toBeNull();
    expect(exposeUri('docs', 'ui://a\nb')).toBeNull();
    expect(exposeUri('docs', 'file:///a/./b')).toBeNull();
    expect(uriProblem('file://docs/a\\..\\b')).toMatch(/path segment/);
    expect(exposeUri('docs', `ui://${'a'.repeat(MAX_RESOURCE_URI_LENGTH)}`)).toBeNull();
  });

  it('resolves only URIs it could have produced', () => {
    expect(resolveExposedUri('ui://widget')).toBeNull();
    expect(resolveExposedUri('ui:///x')).toBeNull();
    expect(resolveExposedUri('ui://Docs/x')).toBeNull();
    expect(resolveExposedUri('ui://a_b/x')).toBeNull();
    expect(resolveExposedUri('urn:isbn')).toBeNull();
    expect(resolveExposedUri('no-scheme')).toBeNull();
    expect(resolveExposedUri('ui://docs/\u0000')).toBeNull();
    expect(resolveExposedUri(`ui://docs/${'a'.repeat(100 * 1024)}`)).toBeNull();
    expect(resolveExposedUri('ui://docs/../other/x')).toBeNull();
    expect(resolveExposedUri('ui://docs/a/%2E%2e/b')).toBeNull();
    expect(resolveExposedUri('ui://docs/a/..b/c?x=/../')).toEqual({ connection: 'docs', uri: 'ui://a/..b/c?x=/../' });
  });

  it('rewrites URI templates so that their expansions resolve to the downstream expansion', () => {
    expect(exposeUriTemplate('db', 'db://{table}/rows{?limit}')).toBe('db://db/{table}/rows{?limit}');
    expect(resolveExposedUri('db://db/users/rows?limit=3')).toEqual({ connection: 'db', uri: 'db://users/rows?limit=3' });
    expect(exposeUriTemplate('db', 'x:{+rest}')).toBe('x:db:{+rest}');
    expect(resolveExposedUri('x:db://a')).toEqual({ connection: 'db', uri: 'x://a' });
  });

  it('refuses templates that do not parse or have no literal scheme', () => {
    for (const template of ['db://{table', 'db://table}', 'db://{a{b}}', 'db://{}', 'db://{a b}', 'db://{!x}', '{scheme}://x', 'db://{a:0}']) {
      expect(exposeUriTemplate('db', template)).toBeNull();
    }
    expect(isUriTemplate('db://{+path*}/{x.y,z:3}{?q,r}')).toBe(true);
  });
});
