import { parseConfigFile } from '../config-file/config-file.loader';
import { PlatformSettings } from '../platform-settings';
import { platformSchema } from './platform.schema';

describe('the platform section', () => {
  it('defaults to no operators, public egress only and no stdio commands for organization admins', () => {
    const platform = PlatformSettings.from(undefined);
    expect(platform.egressAllow).toEqual([]);
    expect(platform.stdioCommands).toEqual([]);
    expect(platform.isOperator('ops@example.com')).toBe(false);
    expect(platform.limits.sessionsPerCredential).toBeGreaterThan(0);
  });

  it('accepts addresses, CIDR blocks, host names and *.domain in the egress allowlist', () => {
    const parsed = platformSchema.parse({ egress: { allow: ['10.0.0.0/8', '[::1]', 'MCP.Internal.example', '*.svc.cluster.local', '127.0.0.1'] } });
    expect(parsed.egress.allow).toEqual(['10.0.0.0/8', '::1', 'mcp.internal.example', '*.svc.cluster.local', '127.0.0.1']);
    for (const bad of ['10.0.0.0/33', 'http://example.com', 'a b', '*', '1.2.3.4/8/1']) {
      expect(platformSchema.safeParse({ egress: { allow: [bad] } }).success).toBe(false);
    }
  });

  it('knows operators by email, in any case, and each organization its verified domains', () => {
    const { config } = parseConfigFile(
      'platform.yaml',
      `platform:
  operators: [Ops@Example.com]
  organizations: [{ slug: acme, verifiedDomains: [ACME.test] }]
organizations:
  - { slug: acme, name: Acme }
`,
      {},
    );
    const platform = PlatformSettings.from(config.platform);
    expect(platform.isOperator('ops@example.COM')).toBe(true);
    expect(platform.verifiedDomains('acme')).toEqual(['acme.test']);
    expect(platform.verifiedDomains('globex')).toEqual([]);
  });

  it('refuses verified domains for an organization the file does not declare', () => {
    expect(() => parseConfigFile('platform.yaml', 'platform: { organizations: [{ slug: ghost, verifiedDomains: [ghost.test] }] }', {})).toThrow(
      'platform.organizations[0].slug: no organization "ghost" in this file',
    );
  });
});
