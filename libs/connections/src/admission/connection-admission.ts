import { Injectable } from '@nestjs/common';
import { ConnectionSpec, GatehouseError, PlatformSettings, StdioCommandSpec, wildcardMatches } from '@gatehouse/config';
import { EgressPolicy } from '@gatehouse/egress';

interface StdioTarget {
  command?: string | null;
  args: readonly string[];
  cwd?: string | null;
  env: Record<string, string>;
}

const STDIO_RULE =
  'A stdio connection runs a command on the gateway host, so only the deployment operator defines them: in the config ' +
  'file, or as commands organization admins may choose (platform.stdio.commands)';

// What an organization admin may connect to (admin API, gatehouse_create_connection): stdio commands only from
// the operator's list, with the arguments and environment it allows, and http(s) only where the egress policy
// reaches. The config file is the operator's own and is not checked here (its requests still obey egress).
@Injectable()
export class ConnectionAdmission {
  constructor(
    private readonly platform: PlatformSettings,
    private readonly egress: EgressPolicy,
  ) {}

  /** Throws a Forbidden GatehouseError naming the rule when an organization admin may not have this connection. */
  async admit(spec: ConnectionSpec): Promise<void> {
    if (spec.transport === 'stdio') {
      const problem = this.stdioProblem(spec);
      if (problem) throw GatehouseError.forbidden(problem);
      return;
    }
    const unreachable = await this.egress.problemWith(new URL(spec.url!).hostname);
    if (unreachable) throw GatehouseError.forbidden(`url: ${unreachable}`);
  }

  /** Why an organization admin may not run this stdio command, or null when the operator's list allows it. */
  stdioProblem(target: StdioTarget): string | null {
    const command = target.command ?? '';
    const allowed = this.platform.stdioCommands.find((candidate) => allows(candidate, command, target.args));
    if (!allowed) {
      const listed = this.platform.stdioCommands.length;
      return `${STDIO_RULE}. "${command}" with these arguments is not one of the ${listed} command${listed === 1 ? '' : 's'} allowed.`;
    }
    if (target.cwd) return `${STDIO_RULE}. cwd cannot be set for an operator's command.`;
    const refused = Object.keys(target.env).filter((name) => !allowed.env.includes(name));
    if (refused.length) {
      const may = allowed.env.length ? `only ${allowed.env.join(', ')}` : 'none';
      return `${STDIO_RULE}. env ${refused.join(', ')} may not be set for this command (the operator allows ${may}).`;
    }
    return null;
  }
}

function allows(candidate: StdioCommandSpec, command: string, args: readonly string[]): boolean {
  return candidate.command === command && candidate.args.length === args.length && candidate.args.every((glob, index) => wildcardMatches(glob, args[index]!));
}
