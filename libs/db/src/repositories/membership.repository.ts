import { Injectable } from '@nestjs/common';
import { RoleName, roleIncludes } from '@gatehouse/config';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';
import { ApiKeyRepository } from './api-key.repository';
import { isUniqueViolation } from './unique-violation';

export interface MemberRecord {
  userId: string;
  email: string;
  name: string | null;
  role: RoleName;
  configManaged: boolean;
  createdAt: Date;
}

/** Why a change through the members API was not made. */
export type MemberRefusal =
  | { outcome: 'not_found' }
  | { outcome: 'config_managed' }
  /** The member's role, or the one asked for, is above the ceiling of whoever asked. */
  | { outcome: 'above_ceiling'; role: RoleName }
  | { outcome: 'last_owner' };

export type RoleChangeOutcome = { outcome: 'changed'; member: MemberRecord; previousRole: RoleName } | MemberRefusal;
/** A person added through the members API; `hasPassword`: they already sign in with a password of their own. */
export type AdditionOutcome =
  | { outcome: 'added'; member: MemberRecord; hasPassword: boolean }
  | { outcome: 'already_member' }
  | { outcome: 'above_ceiling'; role: RoleName };
export type RemovalOutcome = { outcome: 'removed'; member: MemberRecord; revokedKeyIds: string[] } | MemberRefusal;

type Tx = Prisma.TransactionClient;

const SELECT = { role: true, configManaged: true, createdAt: true, user: { select: { id: true, email: true, name: true } } } as const;

function toRecord(row: Prisma.MembershipGetPayload<{ select: typeof SELECT }>): MemberRecord {
  return { userId: row.user.id, email: row.user.email, name: row.user.name, role: row.role, configManaged: row.configManaged, createdAt: row.createdAt };
}

// Every path that changes or ends a membership (the members API, the config file, identity-provider role
// sync) goes through setRoleIn or removeIn. A person's credentials hold no more than their role now (decided
// at authentication), so a role change touches no key; a removal revokes all their keys and OAuth grants in
// the same transaction, so there is no moment at which a former member's credential still works. Callers
// evict cached principals after the commit (PrincipalCache).
@Injectable()
export class MembershipRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly apiKeys: ApiKeyRepository,
  ) {}

  async list(organizationId: string): Promise<MemberRecord[]> {
    const rows = await this.prisma.membership.findMany({ where: { organizationId }, select: SELECT, orderBy: { user: { email: 'asc' } } });
    return rows.map(toRecord);
  }

  async find(organizationId: string, userId: string): Promise<MemberRecord | null> {
    const row = await this.prisma.membership.findFirst({ where: { organizationId, userId }, select: SELECT });
    return row && toRecord(row);
  }

  async setRoleIn(tx: Tx, membershipId: string, data: { role: RoleName; configManaged?: boolean }): Promise<void> {
    await tx.membership.update({ where: { id: membershipId }, data, select: { id: true } });
  }

  /** Ends these people's memberships and revokes their credentials in the organization; returns the revoked key ids. */
  async removeIn(tx: Tx, organizationId: string, userIds: string[], at: Date): Promise<{ removed: number; revokedKeyIds: string[] }> {
    if (userIds.length === 0) return { removed: 0, revokedKeyIds: [] };
    const revokedKeyIds = await this.apiKeys.revokePeopleIn(tx, organizationId, userIds, at);
    const { count } = await tx.membership.deleteMany({ where: { organizationId, userId: { in: userIds } } });
    return { removed: count, revokedKeyIds };
  }

  /**
   * The members API: adds the person with this (lower-cased) email, creating their user without a password when
   * there is none, by someone whose own role is `ceiling`. An existing user's name and password are left alone.
   */
  async add(organizationId: string, person: { email: string; name: string | null; role: RoleName }, ceiling: RoleName): Promise<AdditionOutcome> {
    if (!roleIncludes(ceiling, person.role)) return { outcome: 'above_ceiling', role: person.role };
    try {
      return await this.addOnce(organizationId, person);
    } catch (error) {
      // Two additions of the same new person at once: both try to create the user and one loses on the unique email.
      // Again, the user is there, and the membership decides (already a member, or added).
      if (!isUniqueViolation(error)) throw error;
      return this.addOnce(organizationId, person);
    }
  }

  private addOnce(organizationId: string, person: { email: string; name: string | null; role: RoleName }): Promise<AdditionOutcome> {
    return this.prisma.$transaction(async (tx): Promise<AdditionOutcome> => {
      const user = await tx.user.upsert({
        where: { email: person.email },
        create: { email: person.email, name: person.name },
        update: {},
        select: { id: true, passwordHash: true },
      });
      const created = await tx.membership.createMany({ data: [{ organizationId, userId: user.id, role: person.role }], skipDuplicates: true });
      if (created.count === 0) return { outcome: 'already_member' };
      const row = await tx.membership.findUniqueOrThrow({ where: { organizationId_userId: { organizationId, userId: user.id } }, select: SELECT });
      return { outcome: 'added', member: toRecord(row), hasPassword: user.passwordHash !== null };
    });
  }

  /** The members API: a role change by someone whose own role is `ceiling`. */
  changeRole(organizationId: string, userId: string, role: RoleName, ceiling: RoleName): Promise<RoleChangeOutcome> {
    return this.guarded(organizationId, userId, ceiling, role, async (tx, id, member) => {
      if (member.role !== role) await this.setRoleIn(tx, id, { role });
      return { outcome: 'changed', member: { ...member, role }, previousRole: member.role };
    });
  }

  /** The members API: a removal by someone whose own role is `ceiling`. */
  remove(organizationId: string, userId: string, ceiling: RoleName, at: Date): Promise<RemovalOutcome> {
    return this.guarded(organizationId, userId, ceiling, null, async (tx, _id, member) => {
      const { revokedKeyIds } = await this.removeIn(tx, organizationId, [userId], at);
      return { outcome: 'removed', member, revokedKeyIds };
    });
  }

  // The organization's row is locked first, so that two changes cannot each see another owner and together
  // leave none: the owner count is read after any concurrent change committed.
  private guarded<T>(
    organizationId: string,
    userId: string,
    ceiling: RoleName,
    newRole: RoleName | null,
    change: (tx: Tx, membershipId: string, member: MemberRecord) => Promise<T>,
  ): Promise<T | MemberRefusal> {
    return this.prisma.$transaction(async (tx): Promise<T | MemberRefusal> => {
      await tx.$queryRaw`SELECT id FROM organizations WHERE id = ${organizationId}::uuid FOR UPDATE`;
      const row = await tx.membership.findUnique({ where: { organizationId_userId: { organizationId, userId } }, select: { id: true, ...SELECT } });
      if (!row) return { outcome: 'not_found' };
      if (row.configManaged) return { outcome: 'config_managed' };
      for (const role of [row.role, ...(newRole ? [newRole] : [])]) {
        if (!roleIncludes(ceiling, role)) return { outcome: 'above_ceiling', role };
      }
      if (row.role === 'owner' && newRole !== 'owner') {
        const owners = await tx.membership.count({ where: { organizationId, role: 'owner' } });
        if (owners <= 1) return { outcome: 'last_owner' };
      }
      return change(tx, row.id, toRecord(row));
    });
  }
}
