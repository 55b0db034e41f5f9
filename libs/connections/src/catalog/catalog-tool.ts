import { createHash } from 'node:crypto';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ArgumentCheck } from './argument-validator';
import { ContentUris } from '../naming/content-uris';
import { PREFIXED_VIEW } from '../naming/exposure-view';
import { canonicalJson } from './canonical-json';

export interface CatalogTool {
  exposedName: string;
  downstreamName: string;
  connectionId: string;
  connectionName: string;
  /** The definition as Gatehouse lists it: the downstream's, renamed, with its origin in _meta. */
  definition: Tool;
  /** SHA-256 of the downstream definition (name, description, schemas, annotations). */
  hash: string;
  checkArguments: ArgumentCheck;
}

export function hashToolDefinition(tool: Tool): string {
  const { name, title, description, inputSchema, outputSchema, annotations } = tool;
  return createHash('sha256')
    .update(canonicalJson({ name, title, description, inputSchema, outputSchema, annotations }))
    .digest('hex');
}

export function exposeDefinition(tool: Tool, exposedName: string, connectionName: string): Tool {
  const shortened = exposedName !== `${connectionName}_${tool.name}`;
  return {
    ...tool,
    name: exposedName,
    ...(tool.title || !shortened ? {} : { title: tool.name }),
    // A widget template the tool names is one of its connection's resources: named as the gateway serves it.
    _meta: { ...new ContentUris(PREFIXED_VIEW, connectionName).toolMeta(tool._meta), 'io.gatehouse/connection': connectionName, 'io.gatehouse/tool': tool.name },
  };
}

/** A listed tool as the policy sees it (PolicyResource's shape): its connection, exposed name and annotations. */
export function catalogResource(tool: CatalogTool): { connection: string; tool: string; annotations: Tool['annotations'] } {
  return { connection: tool.connectionName, tool: tool.exposedName, annotations: tool.definition.annotations };
}
