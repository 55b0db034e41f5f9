import { Injectable } from '@nestjs/common';
import { AuditRecorder, DEPLOYMENT_ORGANIZATION_ID } from '@gatehouse/audit';
import { UserRecord, UserRepository } from '@gatehouse/db';
import { RequestOrigin } from '../auth/audit-actor';

export type SignInMethod = 'password' | 'oidc';

// auth.sign_in records. A person is not signed in to one organization but to their account, so a password
// sign-in is recorded in every organization they belong to; an OIDC sign-in in the provider's organization; an
// email that names nobody in the deployment's own chain. Never the password.
@Injectable()
export class SignInAudit {
  constructor(
    private readonly users: UserRepository,
    private readonly recorder: AuditRecorder,
  ) {}

  async succeeded(user: UserRecord, method: SignInMethod, origin: RequestOrigin, organizationId?: string, data: Record<string, unknown> = {}): Promise<void> {
    const organizations = organizationId ? [organizationId] : await this.organizationsOf(user.id);
    await this.record(organizations, user.id, user.email, method, origin, 'success', data);
  }

  /** reason: a short code (wrong_email_or_password, missing_credentials, throttled; SsoSignInFailure, with the sentence shown in data.message). */
  async failed(email: string, method: SignInMethod, reason: string, origin: RequestOrigin, organizationId?: string, data: Record<string, unknown> = {}): Promise<void> {
    const normalized = email.trim().toLowerCase().slice(0, 320);
    const user = normalized ? await this.users.findForSignIn(normalized) : null;
    const organizations = organizationId ? [organizationId] : user ? await this.organizationsOf(user.id) : [];
    await this.record(organizations.length ? organizations : [DEPLOYMENT_ORGANIZATION_ID], user?.id ?? null, normalized || null, method, origin, 'failure', { reason, ...data });
  }

  private async organizationsOf(userId: string): Promise<string[]> {
    return (await this.users.memberships(userId)).map((membership) => membership.organization.id);
  }

  private async record(
    organizationIds: string[],
    userId: string | null,
    email: string | null,
    method: SignInMethod,
    origin: RequestOrigin,
    outcome: 'success' | 'failure',
    data: Record<string, unknown>,
  ): Promise<void> {
    await Promise.all(
      organizationIds.map((organizationId) =>
        this.recorder.record({
          organizationId,
          kind: 'auth.sign_in',
          actor: { type: 'user', id: userId, name: email, ip: origin.ip, userAgent: origin.userAgent },
          target: { type: 'user', id: userId, email },
          outcome,
          data: { method, ...data },
        }),
      ),
    );
  }
}
