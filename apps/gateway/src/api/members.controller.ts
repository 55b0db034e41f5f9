import { Body, Controller, Delete, Get, Param, ParseUUIDPipe, Post, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AuditedAs, Authenticated, CurrentPrincipal, MembershipService, Principal } from '@gatehouse/identity';
import { ZodResponse } from 'nestjs-zod';
import { MemberDto, RemovedMemberDto, UpdateMemberDto } from './api.dto';
import { AddedMemberDto, AddMemberDto } from './people.dto';

const UserId = () => Param('userId', new ParseUUIDPipe({ version: '4' }));

// Onboarding and offboarding: who may add, change or remove whom is the membership service's rule (up to one's own role).
@ApiTags('members')
@Controller('api/v1/members')
export class MembersController {
  constructor(private readonly members: MembershipService) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'Member' })
  @ZodResponse({ status: 200, type: [MemberDto] })
  list(@CurrentPrincipal() principal: Principal) {
    return this.members.list(principal.organizationId);
  }

  /**
   * Creates the user when there is none (without a password). The response says how they sign in; a set-password
   * link in it is shown once and never recorded (the audit names the member only).
   */
  @Post()
  @Authenticated({ action: 'create', subject: 'Member' })
  @AuditedAs('admin.member.added', { target: 'member', records: ['member'] })
  @ZodResponse({ status: 201, type: AddedMemberDto })
  add(@CurrentPrincipal() principal: Principal, @Body() body: AddMemberDto) {
    return this.members.add(principal, body);
  }

  /** A lower role applies to the member's keys and OAuth grants at their next call, on every replica. */
  @Put(':userId')
  @Authenticated({ action: 'update', subject: 'Member' })
  @AuditedAs('admin.member.updated', { target: 'member', param: 'userId' })
  @ZodResponse({ status: 200, type: MemberDto })
  update(@CurrentPrincipal() principal: Principal, @UserId() userId: string, @Body() body: UpdateMemberDto) {
    return this.members.changeRole(principal, userId, body.role);
  }

  /** Revokes the member's keys and OAuth grants in the organization with the membership. */
  @Delete(':userId')
  @Authenticated({ action: 'delete', subject: 'Member' })
  @AuditedAs('admin.member.removed', { target: 'member', param: 'userId' })
  @ZodResponse({ status: 200, type: RemovedMemberDto })
  remove(@CurrentPrincipal() principal: Principal, @UserId() userId: string) {
    return this.members.remove(principal, userId);
  }
}
