import { Injectable } from '@nestjs/common';
import { MembershipView, UserRecord, UserRepository } from '@gatehouse/db';
import { decoyPasswordHash, verifyPassword } from './password';

// Local accounts: people who sign in with an email and a password (deployments without an identity provider).
@Injectable()
export class AccountService {
  constructor(private readonly users: UserRepository) {}

  /** The person, or null for a wrong email or password (indistinguishable, in answer and in time). */
  async signIn(email: string, password: string): Promise<UserRecord | null> {
    const user = await this.users.findForSignIn(email.trim());
    const valid = await verifyPassword(password, user?.passwordHash ?? (await decoyPasswordHash()));
    if (!user?.passwordHash || !valid) return null;
    return { id: user.id, email: user.email, name: user.name };
  }

  find(userId: string): Promise<UserRecord | null> {
    return this.users.findById(userId);
  }

  memberships(userId: string): Promise<MembershipView[]> {
    return this.users.memberships(userId);
  }
}
