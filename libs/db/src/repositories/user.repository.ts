import { Injectable } from '@nestjs/common';
import { RoleName } from '@gatehouse/config';
import { PrismaService } from '../prisma.service';

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
  constructor(private readonly prisma: PrismaService) {}

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

  /** Sets the password of a user who has none; false when they have one (it is never overwritten this way). */
  async setFirstPassword(userId: string, passwordHash: string): Promise<boolean> {
    const { count } = await this.prisma.user.updateMany({ where: { id: userId, passwordHash: null }, data: { passwordHash } });
    return count === 1;
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
