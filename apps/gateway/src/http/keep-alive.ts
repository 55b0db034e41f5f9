import type { Server } from 'node:http';

/**
 * Idle keep-alive connections stay open this long (the client learns it from `Keep-Alive: timeout=`). A request
 * sent on a connection at the moment the server closes it is reset, not answered; with a balancer in front that
 * reuses connections for up to its own idle timeout, the server must be the one that waits longer.
 */
export function keepIdleConnections(server: Server, seconds: number): void {
  server.keepAliveTimeout = seconds * 1000;
  // A connection's next request must be able to start its headers within the keep-alive window.
  server.headersTimeout = Math.max(server.headersTimeout, seconds * 1000 + 1000);
}
