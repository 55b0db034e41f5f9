import { Injectable } from '@nestjs/common';
import { RoleName } from '@gatehouse/config';
import { PrismaService } from '../prisma.service';
import { MembershipRepository } from './membership.repository';

export interface UserRecord {
  id: string;
  email: string;
  name: string | null;
}

export interface SignInRecord extends UserRecord {
  passwordHash: string | null;
}

export interface MembershipView {
  organization: { id: string; slug: string; name: string };
  role: RoleName;
}

@Injectable()
export class UserRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly membershipRepository: MembershipRepository,
  ) {}

  /**
   * Just-in-time provisioning from an identity provider: creates the person and their membership, and keeps the
   * role in step with the provider's groups, except for memberships the config file manages (the file wins).
   * Returns the person and whether their role changed.
   */
  async provisionMember(organizationId: string, email: string, name: string | null, role: RoleName): Promise<{ user: UserRecord; roleChanged: boolean }> {
    return this.prisma.$transaction(async (tx) => {
      const user = await tx.user.upsert({
        where: { email: email.toLowerCase() },
        create: { email: email.toLowerCase(), name },
        update: {},
        select: { id: true, email: true, name: true },
      });
      const current = await tx.membership.findUnique({ where: { organizationId_userId: { organizationId, userId: user.id } } });
      if (!current) {
        await tx.membership.create({ data: { organizationId, userId: user.id, role } });
        return { user, roleChanged: false };
      }
      if (current.configManaged || current.role === role) return { user, roleChanged: false };
      await this.membershipRepository.setRoleIn(tx, current.id, { role });
      return { user, roleChanged: true };
    });
  }

  findRole(organizationId: string, userId: string): Promise<RoleName | null> {
    return this.prisma.membership
      .findUnique({ where: { organizationId_userId: { organizationId, userId } }, select: { role: true } })
      .then((membership) => membership?.role ?? null);
  }

  findForSignIn(email: string): Promise<SignInRecord | null> {
    return this.prisma.user.findUnique({
      where: { email: email.toLowerCase() },
      select: { id: true, email: true, name: true, passwordHash: true },
    });
  }

  findById(id: string): Promise<UserRecord | null> {
    return this.prisma.user.findUnique({ where: { id }, select: { id: true, email: true, name: true } });
  }

  memberships(userId: string): Promise<MembershipView[]> {
    return this.prisma.membership.findMany({
      where: { userId },
      select: { role: true, organization: { select: { id: true, slug: true, name: true } } },
      orderBy: { organization: { name: 'asc' } },
    });
  }

  /** Password hashes of the given accounts (lower-cased emails), for the config file's passwordEnv. */
  async passwordHashes(emails: string[]): Promise<Map<string, string | null>> {
    const users = await this.prisma.user.findMany({ where: { email: { in: emails } }, select: { email: true, passwordHash: true } });
    return new Map(users.map((user) => [user.email, user.passwordHash]));
  }
}
