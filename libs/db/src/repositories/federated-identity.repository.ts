import { Injectable } from '@nestjs/common';
import { RoleName } from '@gatehouse/config';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';
import { MembershipRepository } from './membership.repository';
import { UserRecord } from './user.repository';

/** What an identity provider asserted about the person signing in. */
export interface FederatedAssertion {
  issuer: string;
  subject: string;
  /** Lower-cased. */
  email: string;
  name: string | null;
}

export interface FederatedIdentityRecord {
  id: string;
  issuer: string;
  subject: string;
  /** The email asserted at the last sign-in. */
  email: string;
  user: UserRecord;
}

/** The membership a sign-in through an organization's provider gives: created, or its role kept in step. */
export interface ProvisionedMembership {
  organizationId: string;
  role: RoleName;
}

export interface FederatedSignInRecord {
  user: UserRecord;
  roleChanged: boolean;
}

type Tx = Prisma.TransactionClient;

const SELECT = { id: true, issuer: true, subject: true, email: true, user: { select: { id: true, email: true, name: true } } } as const;

// Links between (issuer, subject) and users. Which user a first sign-in may link to is decided by the caller
// (FederatedAccounts); this only records it, with the membership, in one transaction.
@Injectable()
export class FederatedIdentityRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly memberships: MembershipRepository,
  ) {}

  find(issuer: string, subject: string): Promise<FederatedIdentityRecord | null> {
    return this.prisma.federatedIdentity.findUnique({ where: { issuer_subject: { issuer, subject } }, select: SELECT });
  }

  /** A link at this issuer, for another subject, that belongs to the user or last asserted the email. */
  findOtherSubject(issuer: string, subject: string, email: string, userId: string | null): Promise<FederatedIdentityRecord | null> {
    return this.prisma.federatedIdentity.findFirst({
      where: { issuer, subject: { not: subject }, OR: [{ email }, ...(userId ? [{ userId }] : [])] },
      select: SELECT,
    });
  }

  /**
   * A first sign-in: links the subject to the user (`userId`), or to a new user with the asserted email (`null`:
   * created, never found, so an account created meanwhile makes this fail rather than be taken over).
   */
  link(assertion: FederatedAssertion, userId: string | null, membership: ProvisionedMembership): Promise<FederatedSignInRecord> {
    return this.prisma.$transaction(async (tx) => {
      const user = userId
        ? await tx.user.findUniqueOrThrow({ where: { id: userId }, select: { id: true, email: true, name: true } })
        : await tx.user.create({ data: { email: assertion.email, name: assertion.name }, select: { id: true, email: true, name: true } });
      await tx.federatedIdentity.create({ data: { userId: user.id, issuer: assertion.issuer, subject: assertion.subject, email: assertion.email } });
      return { user, roleChanged: await this.provision(tx, user.id, membership) };
    });
  }

  /** A returning subject: the email it asserts now is recorded, and the membership kept in step. */
  signIn(identity: FederatedIdentityRecord, email: string, membership: ProvisionedMembership): Promise<FederatedSignInRecord> {
    return this.prisma.$transaction(async (tx) => {
      await tx.federatedIdentity.update({ where: { id: identity.id }, data: { email, lastSignInAt: new Date() } });
      return { user: identity.user, roleChanged: await this.provision(tx, identity.user.id, membership) };
    });
  }

  // Just-in-time provisioning: creates the membership, or keeps its role in step with the provider's groups, except
  // for memberships the config file manages (the file wins). Returns whether an existing role changed.
  private async provision(tx: Tx, userId: string, { organizationId, role }: ProvisionedMembership): Promise<boolean> {
    const current = await tx.membership.findUnique({ where: { organizationId_userId: { organizationId, userId } } });
    if (!current) {
      await tx.membership.create({ data: { organizationId, userId, role } });
      return false;
    }
    if (current.configManaged || current.role === role) return false;
    await this.memberships.setRoleIn(tx, current.id, { role });
    return true;
  }
}
