import { Injectable, Logger } from '@nestjs/common';
import { ApiKeyRepository } from '@gatehouse/db';

// last-used is informational; writing it at most once a minute per key keeps a row update off the hot path.
const RESOLUTION_MS = 60_000;

/** Records that a key, or an OAuth grant (listed as a key), was used. */
@Injectable()
export class KeyUsageRecorder {
  private readonly logger = new Logger(KeyUsageRecorder.name);
  private readonly lastWrites = new Map<string, number>();

  constructor(private readonly keys: ApiKeyRepository) {}

  record(id: string): void {
    const now = Date.now();
    if (now - (this.lastWrites.get(id) ?? 0) < RESOLUTION_MS) return;
    this.lastWrites.set(id, now);
    this.keys
      .touchLastUsed(id, new Date(now))
      .catch((error: unknown) => this.logger.warn({ err: error, apiKeyId: id }, 'Could not record key use'));
  }
}
