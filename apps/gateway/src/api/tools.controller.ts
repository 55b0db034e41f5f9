import { Body, Controller, Get, HttpCode, Post, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Authenticated, CurrentPrincipal, Principal } from '@gatehouse/identity';
import { ToolTrial } from '@gatehouse/mcp';
import { ZodResponse } from 'nestjs-zod';
import { CallToolDto, CallToolResultDto, ToolDto } from './tools.dto';

// "Try a tool": the caller's own tools, called as themselves through the whole pipeline (ToolTrial). The call is
// audited as a tools/call of theirs, so no @AuditedAs here.
@ApiTags('tools')
@Controller('api/v1/tools')
export class ToolsController {
  constructor(private readonly trial: ToolTrial) {}

  @Get()
  @Authenticated({ action: 'read', subject: 'Connection' })
  @ZodResponse({ status: 200, type: [ToolDto] })
  list(@CurrentPrincipal() principal: Principal) {
    return this.trial.list(principal);
  }

  @Post('call')
  @HttpCode(200)
  @Authenticated({ action: 'read', subject: 'Connection' })
  @ZodResponse({ status: 200, type: CallToolResultDto })
  call(@CurrentPrincipal() principal: Principal, @Body() body: CallToolDto, @Res({ passthrough: true }) response: Response) {
    // The browser gone before the answer: the downstream call is cancelled, as an MCP client's would be.
    const abandoned = new AbortController();
    response.once('close', () => {
      if (!response.writableFinished) abandoned.abort();
    });
    return this.trial.call(principal, body.name, body.arguments, abandoned.signal);
  }
}
