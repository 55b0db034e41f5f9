import { Injectable } from '@nestjs/common';
import { ApiKeyAccessLevel, RoleName } from '@gatehouse/config';
import { PrismaService } from '../prisma.service';
import { CREDENTIAL_SELECT, CredentialRecord, toCredential } from './api-key.repository';

export interface AuthorizationCodeRecord {
  id: string;
  clientId: string;
  userId: string;
  organizationId: string;
  redirectUri: string;
  codeChallenge: string;
  scope: string;
  resource: string;
  expiresAt: Date;
  usedAt: Date | null;
}

export type NewAuthorizationCode = Omit<AuthorizationCodeRecord, 'id' | 'usedAt'> & { codeHash: string };

export interface NewTokenPair {
  scope: string;
  accessHash: string;
  accessExpiresAt: Date;
  refreshHash: string;
  refreshExpiresAt: Date;
}

/** A grant is an API key of kind oauth_grant: listed and revoked with the other keys. */
export interface NewGrant {
  name: string;
  role: RoleName;
  access: ApiKeyAccessLevel;
  scope: string;
  prefix: string;
  /** Issued for an endpoint's URL (RFC 8707 resource): the grant works at that endpoint only. */
  endpointId: string | null;
}

/** What authenticating or refreshing with a token needs to know about it and its grant. */
export interface GrantTokenRecord {
  id: string;
  kind: 'access' | 'refresh';
  scope: string;
  expiresAt: Date;
  rotatedAt: Date | null;
  revokedAt: Date | null;
  /** The grant as a credential (its person's current role included), and the scope granted. */
  grant: CredentialRecord & { scope: string | null };
}

export type RedeemOutcome = { outcome: 'issued'; grantId: string } | { outcome: 'replayed'; revokedGrantId: string | null };
export type RotateOutcome = { outcome: 'rotated' } | { outcome: 'reused'; revokedGrantId: string };

@Injectable()
export class OAuthGrantRepository {
  constructor(private readonly prisma: PrismaService) {}

  async createCode(code: NewAuthorizationCode): Promise<void> {
    await this.prisma.oAuthAuthorizationCode.create({ data: code, select: { id: true } });
  }

  findCode(codeHash: string): Promise<AuthorizationCodeRecord | null> {
    return this.prisma.oAuthAuthorizationCode.findUnique({
      where: { codeHash },
      select: {
        id: true,
        clientId: true,
        userId: true,
        organizationId: true,
        redirectUri: true,
        codeChallenge: true,
        scope: true,
        resource: true,
        expiresAt: true,
        usedAt: true,
      },
    });
  }

  /**
   * Exchanges a code exactly once. The code row is locked, so a concurrent replay waits for the first
   * exchange and then finds the grant it created, which it revokes (RFC 6749 §4.1.2, OAuth 2.1 §4.1.3).
   */
  redeemCode(code: AuthorizationCodeRecord, grant: NewGrant, tokens: NewTokenPair, at: Date): Promise<RedeemOutcome> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM oauth_authorization_codes WHERE id = ${code.id}::uuid FOR UPDATE`;
      const current = await tx.oAuthAuthorizationCode.findUniqueOrThrow({ where: { id: code.id }, select: { usedAt: true, grantId: true } });
      if (current.usedAt) {
        if (current.grantId) await this.revokeGrantIn(tx, current.grantId, at);
        return { outcome: 'replayed', revokedGrantId: current.grantId };
      }
      const created = await tx.apiKey.create({
        data: {
          organizationId: code.organizationId,
          createdById: code.userId,
          clientId: code.clientId,
          kind: 'oauth_grant',
          name: grant.name,
          prefix: grant.prefix,
          role: grant.role,
          access: grant.access,
          scope: grant.scope,
          endpointId: grant.endpointId,
          secretHash: null,
        },
        select: { id: true },
      });
      await this.insertPair(tx, created.id, tokens);
      await tx.oAuthAuthorizationCode.update({ where: { id: code.id }, data: { usedAt: at, grantId: created.id } });
      return { outcome: 'issued', grantId: created.id };
    });
  }

  /** A used code presented again: revokes the grant it created, after any exchange of it still in progress. */
  replayCode(codeId: string, at: Date): Promise<string | null> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM oauth_authorization_codes WHERE id = ${codeId}::uuid FOR UPDATE`;
      const { grantId } = await tx.oAuthAuthorizationCode.findUniqueOrThrow({ where: { id: codeId }, select: { grantId: true } });
      if (grantId) await this.revokeGrantIn(tx, grantId, at);
      return grantId;
    });
  }

  async findToken(tokenHash: string): Promise<GrantTokenRecord | null> {
    const row = await this.prisma.oAuthToken.findUnique({
      where: { tokenHash },
      select: {
        id: true,
        kind: true,
        scope: true,
        expiresAt: true,
        rotatedAt: true,
        revokedAt: true,
        grant: { select: { ...CREDENTIAL_SELECT, scope: true } },
      },
    });
    // Grants are made by people, never minted by keys: no chain to read.
    return row && { ...row, grant: { ...toCredential(row.grant), scope: row.grant.scope } };
  }

  /** Refresh token rotation: a token already rotated (or revoked) being presented again revokes the whole grant. */
  rotateRefreshToken(tokenId: string, grantId: string, tokens: NewTokenPair, at: Date): Promise<RotateOutcome> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM oauth_tokens WHERE id = ${tokenId}::uuid FOR UPDATE`;
      const current = await tx.oAuthToken.findUniqueOrThrow({ where: { id: tokenId }, select: { rotatedAt: true, revokedAt: true } });
      if (current.rotatedAt || current.revokedAt) {
        await this.revokeGrantIn(tx, grantId, at);
        return { outcome: 'reused', revokedGrantId: grantId };
      }
      await tx.oAuthToken.update({ where: { id: tokenId }, data: { rotatedAt: at } });
      await this.insertPair(tx, grantId, tokens);
      return { outcome: 'rotated' };
    });
  }

  /**
   * Housekeeping: codes and tokens past their expiry (plus a day, so a late replay is still recognized as such
   * for a while), and registered clients that never completed an authorization. Revoked grants stay: they are
   * listed with the keys.
   */
  async purgeExpired(now: Date): Promise<{ codes: number; tokens: number; clients: number }> {
    const graceCutoff = new Date(now.getTime() - 24 * 3600 * 1000);
    const unusedClientCutoff = new Date(now.getTime() - 7 * 24 * 3600 * 1000);
    const codes = await this.prisma.oAuthAuthorizationCode.deleteMany({ where: { expiresAt: { lt: graceCutoff } } });
    const tokens = await this.prisma.oAuthToken.deleteMany({ where: { expiresAt: { lt: graceCutoff } } });
    const clients = await this.prisma.oAuthClient.deleteMany({
      where: { kind: 'registered', createdAt: { lt: unusedClientCutoff }, grants: { none: {} }, codes: { none: {} } },
    });
    return { codes: codes.count, tokens: tokens.count, clients: clients.count };
  }

  async revokeToken(tokenId: string, at: Date): Promise<void> {
    await this.prisma.oAuthToken.updateMany({ where: { id: tokenId, revokedAt: null }, data: { revokedAt: at } });
  }

  async revokeGrant(grantId: string, at: Date): Promise<void> {
    await this.prisma.$transaction((tx) => this.revokeGrantIn(tx, grantId, at));
  }

  private async revokeGrantIn(tx: Pick<PrismaService, 'apiKey' | 'oAuthToken'>, grantId: string, at: Date): Promise<void> {
    await tx.apiKey.updateMany({ where: { id: grantId, revokedAt: null }, data: { revokedAt: at } });
    await tx.oAuthToken.updateMany({ where: { grantId, revokedAt: null }, data: { revokedAt: at } });
  }

  private async insertPair(tx: Pick<PrismaService, 'oAuthToken'>, grantId: string, tokens: NewTokenPair): Promise<void> {
    await tx.oAuthToken.createMany({
      data: [
        { grantId, kind: 'access', scope: tokens.scope, tokenHash: tokens.accessHash, expiresAt: tokens.accessExpiresAt },
        { grantId, kind: 'refresh', scope: tokens.scope, tokenHash: tokens.refreshHash, expiresAt: tokens.refreshExpiresAt },
      ],
    });
  }
}
