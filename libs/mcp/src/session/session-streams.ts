import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { ServerNotification } from '@modelcontextprotocol/sdk/types.js';
import { ClusterBus } from '@gatehouse/db';

interface Notice {
  sessionId: string;
  notification: ServerNotification;
}

const CHANNEL = 'mcp.session-notices';

/**
 * The GET notification streams this replica holds, and notices for one session wherever its stream is: a notice is
 * published on the cluster bus and written by the replica(s) holding a GET stream of that session. A session without
 * an open stream misses it, as the protocol allows.
 */
@Injectable()
export class SessionStreams implements OnModuleInit {
  private readonly logger = new Logger(SessionStreams.name);
  private readonly streams = new Map<string, Set<Server>>();

  constructor(private readonly bus: ClusterBus) {}

  async onModuleInit(): Promise<void> {
    await this.bus.subscribe(CHANNEL, (payload) => {
      const { sessionId, notification } = payload as Notice;
      this.deliver(sessionId, notification);
    });
  }

  /** The server of a GET stream of the session, until the stream closes. */
  attach(sessionId: string, server: Server): () => void {
    const held = this.streams.get(sessionId) ?? new Set<Server>();
    held.add(server);
    this.streams.set(sessionId, held);
    return () => {
      held.delete(server);
      if (held.size === 0 && this.streams.get(sessionId) === held) this.streams.delete(sessionId);
    };
  }

  /** The sessions with a stream here. */
  held(): string[] {
    return [...this.streams.keys()];
  }

  /** Sends to the session's stream on this replica only (events every replica hears: list changes, approvals). */
  deliver(sessionId: string, notification: ServerNotification): void {
    for (const server of this.streams.get(sessionId) ?? []) {
      server.notification(notification).catch((error: unknown) => this.logger.debug({ err: error }, 'Could not notify a session'));
    }
  }

  /** Sends to the session's stream on whichever replica holds it (events only this replica hears: resource updates). */
  async notify(sessionId: string, notification: ServerNotification): Promise<void> {
    await this.bus.publish(CHANNEL, { sessionId, notification } satisfies Notice);
  }

  /** The session ended: its streams here close. */
  close(sessionId: string): void {
    const held = this.streams.get(sessionId);
    this.streams.delete(sessionId);
    held?.forEach((server) => void server.close());
  }
}
