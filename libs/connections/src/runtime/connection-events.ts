import { Injectable } from '@nestjs/common';
import { ClusterBus } from '@gatehouse/db';

export type ConnectionEvent =
  | { type: 'changed'; connectionId: string }
  | { type: 'refresh'; connectionId: string }
  | { type: 'refresh-all' };

const CHANNEL = 'connections';

// Connection changes and refresh requests, fanned out to every gateway replica (each runs its own
// downstream clients).
@Injectable()
export class ConnectionEvents {
  constructor(private readonly bus: ClusterBus) {}

  publish(event: ConnectionEvent): Promise<void> {
    return this.bus.publish(CHANNEL, event);
  }

  subscribe(handler: (event: ConnectionEvent, fromSelf: boolean) => void): Promise<void> {
    return this.bus.subscribe(CHANNEL, (payload, fromSelf) => handler(payload as ConnectionEvent, fromSelf));
  }
}
