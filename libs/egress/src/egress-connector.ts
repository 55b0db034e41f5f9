import { buildConnector } from 'undici';
import type { EgressPolicy } from './egress-policy';

/**
 * An undici connector whose every connection obeys the egress policy, as the egress agents' do: an address literal is
 * vetted before connecting, a name through the policy's lookup (resolved, vetted, pinned). A refusal fails the request
 * before any packet is sent to the host.
 */
export function egressConnector(policy: EgressPolicy): buildConnector.connector {
  // net.connect and tls.connect take the lookup from these options.
  const connect = buildConnector({ lookup: policy.lookup } as buildConnector.BuildOptions);
  return (options, callback) => {
    try {
      policy.checkLiteral(options.hostname);
    } catch (error) {
      queueMicrotask(() => callback(error as Error, null));
      return;
    }
    connect(options, callback);
  };
}
