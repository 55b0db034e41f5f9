import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { Action, Principal, Subject } from '@gatehouse/identity';
import type { CallContext } from '../tools/tool-call.dispatcher';

/** One of Gatehouse's own tools: its definition, who may call it, its input and what it does. */
export interface ManagementTool<S extends z.ZodType = z.ZodType> {
  definition: Tool;
  permission: { action: Action; subject: Subject };
  /** Part of calling tools, not of administering: approval requests followed by their requesters. */
  requesterFacing?: true;
  /** Changes what the gateway reaches or runs, or decides approvals: OAuth clients need a policy rule allowing it. */
  sensitive?: true;
  input: S;
  /** `context`: the call's exchange (progress, cancellation); absent for an approved call run later by a job. */
  run(principal: Principal, input: z.infer<S>, context?: CallContext): Promise<CallToolResult>;
}

export function inputSchema(schema: z.ZodType): Tool['inputSchema'] {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return json as Tool['inputSchema'];
}
