import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { buildConnector } from 'undici';
import type { EgressPolicy } from './egress-policy';

type Connect = (options: http.ClientRequestArgs) => Duplex | null | undefined;

// Every socket an egress agent or connector opens goes through the policy: an address literal is vetted before
// connecting, a name through the policy's lookup (resolved, vetted, pinned). A refusal fails the request before any
// packet is sent to the host.
function literalRefusal(policy: EgressPolicy, host: string): Error | null {
  try {
    policy.checkLiteral(host);
    return null;
  } catch (error) {
    return error as Error;
  }
}

function vetted(policy: EgressPolicy, options: http.ClientRequestArgs, callback: ((error: Error | null, stream: Duplex) => void) | undefined, connect: Connect) {
  const refusal = literalRefusal(policy, String(options.host ?? options.hostname ?? ''));
  if (refusal) {
    process.nextTick(() => callback?.(refusal, undefined as never));
    return undefined;
  }
  return connect({ ...options, lookup: policy.lookup });
}

class EgressHttpAgent extends http.Agent {
  constructor(
    private readonly policy: EgressPolicy,
    options: http.AgentOptions,
  ) {
    super(options);
  }

  override createConnection(options: http.ClientRequestArgs, callback?: (error: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    return vetted(this.policy, options, callback, (vettedOptions) => super.createConnection(vettedOptions));
  }
}

class EgressHttpsAgent extends https.Agent {
  constructor(
    private readonly policy: EgressPolicy,
    options: https.AgentOptions,
  ) {
    super(options);
  }

  override createConnection(options: https.RequestOptions, callback?: (error: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    return vetted(this.policy, options, callback, (vettedOptions) => super.createConnection(vettedOptions as https.RequestOptions));
  }
}

/** An agent for one protocol whose every connection obeys the egress policy. */
export function egressAgent(policy: EgressPolicy, protocol: string, options: https.AgentOptions = {}): http.Agent {
  return protocol === 'https:' ? new EgressHttpsAgent(policy, options) : new EgressHttpAgent(policy, options);
}

/** The same for undici's clients: a connector whose every connection obeys the egress policy. */
export function egressConnector(policy: EgressPolicy): buildConnector.connector {
  // net.connect and tls.connect take the lookup from these options.
  const connect = buildConnector({ lookup: policy.lookup } as buildConnector.BuildOptions);
  return (options, callback) => {
    const refusal = literalRefusal(policy, options.hostname);
    if (refusal) return void process.nextTick(() => callback(refusal, null));
    connect(options, callback);
  };
}
