import { Controller, Delete, Get, HttpCode, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ZodResponse } from 'nestjs-zod';
import { PlatformSettings } from '@gatehouse/config';
import { AccountService, BrowserSessions, SessionAuthenticator, SessionCookie } from '@gatehouse/identity';
import { SessionDto } from './api.dto';

// The dashboard's own session: who is signed in, the organizations they may act in, and the CSRF token every change
// must carry. API keys have no session; this is for the browser only.
@ApiTags('session')
@Controller('api/v1/session')
export class SessionController {
  constructor(
    private readonly authenticator: SessionAuthenticator,
    private readonly cookie: SessionCookie,
    private readonly sessions: BrowserSessions,
    private readonly accounts: AccountService,
    private readonly platform: PlatformSettings,
  ) {}

  @Get()
  @ZodResponse({ status: 200, type: SessionDto, description: 'The signed-in person and the organizations this session may act in' })
  async get(@Req() request: Request) {
    const session = await this.authenticator.session(request);
    const [user, memberships] = await Promise.all([this.accounts.find(session.userId), this.accounts.organizations(session)]);
    return {
      user: { id: session.userId, email: user?.email ?? '', name: user?.name ?? null },
      organizations: memberships.map((m) => ({ ...m.organization, role: m.role })),
      csrfToken: session.csrfToken,
      expiresAt: this.sessions.expiresAt(session).toISOString(),
      idleTimeoutSeconds: this.sessions.idleTimeoutSeconds,
      operator: user ? this.platform.isOperator(user.email) : false,
    };
  }

  /** Signs out: the session ends on every replica. */
  @Delete()
  @HttpCode(204)
  async signOut(@Req() request: Request, @Res({ passthrough: true }) response: Response): Promise<void> {
    await this.authenticator.session(request);
    await this.cookie.end(request, response);
  }
}
