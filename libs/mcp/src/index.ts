export * from './mcp.module';
export * from './mcp-front-door';
export * from './session/json-rpc-response';
export * from './session/mcp-sessions.service';
export * from './tools/call-tracker';
export * from './relay/pending-client-requests';
export * from './trial/tool-trial';
export * from './trial/policy-preview';
