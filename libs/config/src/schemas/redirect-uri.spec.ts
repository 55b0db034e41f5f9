import { DEFAULT_REDIRECT_ALLOWLIST, matchesRedirectAllowlist, redirectPatternProblem, redirectUriProblem } from './redirect-uri';

describe('redirect URIs', () => {
  it('accepts https, loopback http and app schemes, and refuses the rest', () => {
    expect(redirectUriProblem('https://chatgpt.com/connector_platform_oauth_redirect')).toBeNull();
    expect(redirectUriProblem('http://127.0.0.1:33418/callback')).toBeNull();
    expect(redirectUriProblem('cursor://anysphere.cursor-retrieval/oauth/callback')).toBeNull();
    expect(redirectUriProblem('http://evil.example/callback')).toMatch(/https/);
    expect(redirectUriProblem('https://client.example/cb#frag')).toMatch(/fragment/);
    expect(redirectUriProblem('javascript:alert(1)')).toMatch(/scheme/);
    expect(redirectUriProblem('/relative')).toMatch(/absolute/);
  });

  it('matches the default allowlist: ChatGPT, Claude and loopback on any port, nothing else', () => {
    const allowed = (uri: string) => matchesRedirectAllowlist(uri, DEFAULT_REDIRECT_ALLOWLIST);
    expect(allowed('https://chatgpt.com/connector_platform_oauth_redirect')).toBe(true);
    expect(allowed('https://claude.ai/api/mcp/auth_callback')).toBe(true);
    expect(allowed('http://127.0.0.1:51234/callback')).toBe(true);
    expect(allowed('http://localhost/oauth/callback?x=1')).toBe(true);
    expect(allowed('https://chatgpt.com.evil.example/connector_platform_oauth_redirect')).toBe(false);
    expect(allowed('https://claude.ai/api/mcp/auth_callback/../../steal')).toBe(false);
    expect(allowed('http://127.0.0.1.evil.example:80/callback')).toBe(false);
  });

  it('lets "*" stand for one host label, never for a dot or a path', () => {
    expect(matchesRedirectAllowlist('https://app.acme.test/cb', ['https://*.acme.test/cb'])).toBe(true);
    expect(matchesRedirectAllowlist('https://evil.example/x.acme.test/cb', ['https://*.acme.test/cb'])).toBe(false);
    expect(matchesRedirectAllowlist('https://a.b.acme.test/cb', ['https://*.acme.test/cb'])).toBe(false);
  });

  it('validates patterns as URIs', () => {
    expect(redirectPatternProblem('http://127.0.0.1:*/*')).toBeNull();
    expect(redirectPatternProblem('http://*.example.com/cb')).toMatch(/https/);
  });
});
