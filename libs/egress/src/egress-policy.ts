import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { canonicalHost, inBlock, nonPublicAddress, parseAddress } from './address-ranges';
import { EgressRefusal, EgressResolutionError } from './egress-refusal';

export type HostLookup = (hostname: string) => Promise<LookupAddress[]>;

const systemLookup: HostLookup = (host) => dnsLookup(host, { all: true, verbatim: true });

type Block = [ipaddr.IPv4 | ipaddr.IPv6, number];

// One egress policy for every outbound request Gatehouse makes on an organization's behalf or to a place the
// config names: downstream MCP servers, SIEM sinks, webhooks, identity providers, client metadata documents.
// Public unicast addresses only, unless the operator's allowlist (platform.egress.allow) names the host or
// covers the address. A name is resolved once per connection and the connection goes to the vetted address
// (see lookup), so a second DNS answer (rebinding) never reaches a socket; every address a name resolves to
// must pass, since which one a connection would use is not ours to choose.
export class EgressPolicy {
  private readonly names = new Set<string>();
  private readonly suffixes: string[] = [];
  private readonly blocks: Block[] = [];

  constructor(
    allow: readonly string[],
    private readonly resolveHost: HostLookup = systemLookup,
  ) {
    for (const entry of allow) {
      if (entry.startsWith('*.')) this.suffixes.push(entry.slice(1));
      else if (entry.includes('/')) this.blocks.push(ipaddr.parseCIDR(entry));
      else if (isIP(entry)) this.blocks.push([parseAddress(entry)!, parseAddress(entry)!.kind() === 'ipv4' ? 32 : 128]);
      else this.names.add(canonicalHost(entry));
    }
  }

  /** Why a connection to `address` (which `host` led to) is refused, or null when it may go ahead. */
  refusal(host: string, address: string): string | null {
    const kind = nonPublicAddress(address);
    if (!kind || this.allowsName(host) || this.allowsAddress(address)) return null;
    const named = canonicalHost(host);
    return named === canonicalHost(address) ? `${named} is ${kind}` : `${named} resolves to ${canonicalHost(address)}, ${kind}`;
  }

  /** Throws EgressRefusal when a host given as an address literal is refused; host names pass (they are checked when resolved). */
  checkLiteral(host: string): void {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    if (!isIP(bare)) return;
    const reason = this.refusal(bare, bare);
    if (reason) throw new EgressRefusal(host, reason);
  }

  /** The host's addresses, every one vetted; throws EgressRefusal or EgressResolutionError. */
  async resolve(host: string): Promise<LookupAddress[]> {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    const family = isIP(bare);
    let addresses: LookupAddress[];
    if (family) {
      addresses = [{ address: bare, family }];
    } else {
      try {
        addresses = await this.resolveHost(bare);
      } catch (error) {
        throw new EgressResolutionError(bare, (error as NodeJS.ErrnoException).code ?? String(error));
      }
      if (addresses.length === 0) throw new EgressResolutionError(bare, 'no address');
    }
    for (const { address } of addresses) {
      const reason = this.refusal(bare, address);
      if (reason) throw new EgressRefusal(host, reason);
    }
    return addresses;
  }

  /**
   * Why requests to this host would be refused now, or null: for saying so when an address is configured. Only a
   * first answer: every connection is vetted again when it is made (names can resolve differently later).
   */
  async problemWith(host: string): Promise<string | null> {
    try {
      await this.resolve(host);
      return null;
    } catch (error) {
      if (error instanceof EgressRefusal || error instanceof EgressResolutionError) return error.message;
      throw error;
    }
  }

  /**
   * A `lookup` for net.connect, tls.connect and http(s).request: resolves through the policy, so the socket
   * connects to an address that was vetted. (Node does not call lookup for an address literal: callers check
   * those with checkLiteral, as the egress agents do.)
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.resolve(hostname).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((entry) => entry.family === options.family) : addresses;
        if (wanted.length === 0) return callback(Object.assign(new Error(`${hostname} has no IPv${options.family} address`), { code: 'ENOTFOUND' }), '', 0);
        if (options.all) return (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, wanted);
        callback(null, wanted[0]!.address, wanted[0]!.family);
      },
      (error: Error) => callback(error as NodeJS.ErrnoException, '', 0),
    );
  };

  private allowsName(host: string): boolean {
    const name = canonicalHost(host);
    return this.names.has(name) || this.suffixes.some((suffix) => name.endsWith(suffix));
  }

  private allowsAddress(address: string): boolean {
    const ip = parseAddress(address);
    return !!ip && this.blocks.some((block) => inBlock(ip, block));
  }
}
