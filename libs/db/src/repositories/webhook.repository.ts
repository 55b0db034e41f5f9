import { isDeepStrictEqual } from 'node:util';
import { Injectable } from '@nestjs/common';
import { WebhookEventName } from '@gatehouse/config';
import { SecretCipher, secretBinding } from '../crypto/secret-cipher';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';

export interface WebhookSpec {
  name: string;
  url: string;
  events: WebhookEventName[];
  /** The signing secret, in clear: stored encrypted. */
  secret: string;
}

export interface WebhookTarget {
  id: string;
  name: string;
  url: string;
}

export interface WebhookChanges {
  created: number;
  updated: number;
  deleted: number;
}

type Tx = Prisma.TransactionClient;

// Where an organization's events are POSTed. The signing secret is encrypted at rest and decrypted only to
// sign a delivery.
@Injectable()
export class WebhookRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly cipher: SecretCipher,
  ) {}

  async subscribers(organizationId: string, event: WebhookEventName): Promise<WebhookTarget[]> {
    return this.prisma.webhook.findMany({ where: { organizationId, events: { has: event } }, select: { id: true, name: true, url: true }, orderBy: { name: 'asc' } });
  }

  /** One webhook with its secret decrypted, for signing; null when it was removed meanwhile. */
  async forDelivery(organizationId: string, id: string): Promise<(WebhookTarget & { secret: string }) | null> {
    const row = await this.prisma.webhook.findFirst({ where: { id, organizationId } });
    return row ? { id: row.id, name: row.name, url: row.url, secret: this.cipher.open(row.secret, secretBinding.webhook(organizationId, row.name)) } : null;
  }

  /** The config file's webhooks: upserted by name; the ones it made and no longer lists are deleted. */
  async applyIn(tx: Tx, organizationId: string, desired: WebhookSpec[]): Promise<WebhookChanges> {
    const existing = await tx.webhook.findMany({ where: { organizationId } });
    const byName = new Map(existing.map((row) => [row.name, row]));
    const changes = { created: 0, updated: 0, deleted: 0 };
    for (const webhook of desired) {
      const row = byName.get(webhook.name);
      const binding = secretBinding.webhook(organizationId, webhook.name);
      const data = { url: webhook.url, events: webhook.events, secret: this.cipher.seal(webhook.secret, binding), configManaged: true };
      if (!row) {
        changes.created++;
        await tx.webhook.create({ data: { organizationId, name: webhook.name, ...data } });
        continue;
      }
      // Compared decrypted: the secret's envelope differs on every write.
      const same =
        row.configManaged && row.url === webhook.url && isDeepStrictEqual(row.events, webhook.events) && this.cipher.holds(row.secret, webhook.secret, binding);
      if (same) continue;
      changes.updated++;
      await tx.webhook.update({ where: { id: row.id }, data });
    }
    const wanted = new Set(desired.map((webhook) => webhook.name));
    const stale = existing.filter((row) => row.configManaged && !wanted.has(row.name)).map((row) => row.id);
    if (stale.length) changes.deleted += (await tx.webhook.deleteMany({ where: { id: { in: stale } } })).count;
    return changes;
  }
}
