import { Injectable } from '@nestjs/common';
import { RoleName } from '@gatehouse/config';
import { PrismaService } from '../prisma.service';

export interface UserRecord {
  id: string;
  email: string;
  name: string | null;
}

@Injectable()
export class UserRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Creates the user if needed and sets their role in the organization. */
  async ensureMember(organizationId: string, email: string, role: RoleName): Promise<UserRecord> {
    const user = await this.prisma.user.upsert({
      where: { email: email.toLowerCase() },
      create: { email: email.toLowerCase() },
      update: {},
      select: { id: true, email: true, name: true },
    });
    await this.prisma.membership.upsert({
      where: { organizationId_userId: { organizationId, userId: user.id } },
      create: { organizationId, userId: user.id, role },
      update: { role },
    });
    return user;
  }

  findRole(organizationId: string, userId: string): Promise<RoleName | null> {
    return this.prisma.membership
      .findUnique({ where: { organizationId_userId: { organizationId, userId } }, select: { role: true } })
      .then((membership) => membership?.role ?? null);
  }
}
