import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

// A JSON object as MCP carries it (input schemas, annotations, structured content): described, not re-validated.
const jsonObject = z.record(z.string(), z.unknown());

const toolSchema = z.object({
  name: z.string().describe('The exposed name, e.g. linear-prod_search_issues'),
  title: z.string().optional(),
  description: z.string().optional(),
  inputSchema: jsonObject.describe('JSON Schema of the arguments'),
  annotations: jsonObject.optional(),
});

export class ToolDto extends createZodDto(toolSchema) {}

export class CallToolDto extends createZodDto(
  z
    .object({
      name: z.string().min(1).max(200).describe('The exposed name of the tool'),
      arguments: jsonObject.default({}),
    })
    .strict(),
) {}

export class CallToolResultDto extends createZodDto(
  z.object({
    content: z.array(jsonObject).describe('MCP content blocks (text, image, resource, ...)'),
    structuredContent: jsonObject.optional(),
    isError: z.boolean().optional().describe('The tool, or the gateway on its behalf (policy, approval, budget), refused or failed'),
  }),
) {}
