import { PlatformLimits, platformSchema, PlatformSpec, StdioCommandSpec } from './schemas/platform.schema';

// The deployment's platform section (config file `platform`), fixed at boot. Without a config file, or without
// the section, the defaults hold: no operators, public egress only, no stdio commands for organization admins.
export class PlatformSettings {
  private readonly operators: ReadonlySet<string>;
  private readonly domains: ReadonlyMap<string, readonly string[]>;

  private constructor(private readonly spec: PlatformSpec) {
    this.operators = new Set(spec.operators);
    this.domains = new Map(spec.organizations.map((organization) => [organization.slug, organization.verifiedDomains]));
  }

  static from(spec: PlatformSpec | undefined): PlatformSettings {
    return new PlatformSettings(spec ?? platformSchema.parse({}));
  }

  get limits(): PlatformLimits {
    return this.spec.limits;
  }

  /** platform.egress.allow: addresses, CIDR blocks and host names reachable although not public. */
  get egressAllow(): readonly string[] {
    return this.spec.egress.allow;
  }

  /** The commands organization admins may run as stdio connections. */
  get stdioCommands(): readonly StdioCommandSpec[] {
    return this.spec.stdio.commands;
  }

  /** The whole section as it is in force, for the operator to read (GET /api/v1/platform). */
  describe(): PlatformSpec {
    return structuredClone(this.spec);
  }

  isOperator(email: string | null | undefined): boolean {
    return !!email && this.operators.has(email.toLowerCase());
  }

  /** Email domains the operator verified for the organization with this slug. */
  verifiedDomains(slug: string): readonly string[] {
    return this.domains.get(slug) ?? [];
  }
}
