import { Injectable, Logger } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import { SecretCipher, secretBinding } from './secret-cipher';

// pg_advisory_xact_lock key: replicas booting together reseal one after the other (the second finds nothing).
const RESEAL_LOCK = 0x6761_7473_6561; // "gatsea", within a JavaScript number

/**
 * Brings secrets sealed by earlier versions up to date, once, at boot: envelopes sealed without the binding to
 * their row (v1) are resealed with it, and connections' URLs and arguments, once stored in clear, move into their
 * envelope (the row keeps the URL's origin). Until this ran, such secrets do not open (SecretCipher.open).
 */
@Injectable()
export class SecretResealer {
  private readonly logger = new Logger(SecretResealer.name);

  constructor(
    private readonly prisma: PrismaService,
    private readonly cipher: SecretCipher,
  ) {}

  async resealLegacy(): Promise<number> {
    const resealed = await this.prisma.$transaction(
      async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(${RESEAL_LOCK}::bigint)`;
        let count = 0;
        const legacy = { startsWith: 'v1.' };
        for (const row of await tx.connection.findMany({ where: { OR: [{ secrets: legacy }, { secrets: null }] } })) {
          const old = row.secrets ? (JSON.parse(this.cipher.openLegacy(row.secrets, row.name)) as { env: unknown; headers: unknown }) : { env: {}, headers: {} };
          const sealed = JSON.stringify({ env: old.env, headers: old.headers, url: row.url, args: row.args });
          const origin = row.url ? new URL(row.url).origin : null;
          await tx.connection.update({
            where: { id: row.id },
            data: { secrets: this.cipher.seal(sealed, secretBinding.connection(row.organizationId, row.name)), url: origin, args: [] },
          });
          count++;
        }
        for (const row of await tx.identityProvider.findMany({ where: { clientSecret: legacy } })) {
          const secret = this.cipher.openLegacy(row.clientSecret, 'identity provider');
          await tx.identityProvider.update({ where: { id: row.id }, data: { clientSecret: this.cipher.seal(secret, secretBinding.identityProvider(row.organizationId)) } });
          count++;
        }
        for (const row of await tx.webhook.findMany({ where: { secret: legacy } })) {
          const secret = this.cipher.openLegacy(row.secret, row.name);
          await tx.webhook.update({ where: { id: row.id }, data: { secret: this.cipher.seal(secret, secretBinding.webhook(row.organizationId, row.name)) } });
          count++;
        }
        for (const row of await tx.auditSink.findMany({ where: { secret: legacy } })) {
          const secret = this.cipher.openLegacy(row.secret!, row.name);
          await tx.auditSink.update({ where: { id: row.id }, data: { secret: this.cipher.seal(secret, secretBinding.auditSink(row.organizationId, row.name)) } });
          count++;
        }
        return count;
      },
      { timeout: 120_000, maxWait: 60_000 },
    );
    if (resealed) this.logger.log(`Resealed ${resealed} stored secrets with their row bindings`);
    return resealed;
  }
}
