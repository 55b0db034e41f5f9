import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/**
 * The SDK's Protocol runs notification handlers (progress included) one microtask late but handles responses
 * at once, so when the last progress notification and the result arrive in the same chunk, the response
 * removes the progress handler first and that notification is dropped. Deferring responses by one microtask
 * restores arrival order. Call after connect(), which installs onmessage.
 */
export function deliverInArrivalOrder(transport: Transport): void {
  const deliver = transport.onmessage;
  if (!deliver) throw new Error('deliverInArrivalOrder: the transport is not connected');
  transport.onmessage = (message: JSONRPCMessage, extra) => {
    if ('id' in message && !('method' in message)) queueMicrotask(() => deliver(message, extra));
    else deliver(message, extra);
  };
}
