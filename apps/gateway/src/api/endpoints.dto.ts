import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { endpointSelectionSchema, endpointSpecSchema } from '@gatehouse/config';
import { timestamp } from './schema-parts';

// Bodies of /api/v1/endpoints. A definition is endpointSpecSchema both ways; the response adds its URL and origin.

export class EndpointSpecDto extends createZodDto(endpointSpecSchema) {}

export class EndpointDto extends createZodDto(
  z.object({
    id: z.uuid(),
    name: z.string(),
    description: z.string(),
    selection: endpointSelectionSchema,
    unprefixed: z.boolean(),
    url: z.string().describe('What MCP clients add: /mcp/<name> under the public URL (OAuth discovery included)'),
    configManaged: z.boolean().describe('Managed by the config file: change it there (PUT and DELETE answer 409)'),
    createdAt: timestamp,
    updatedAt: timestamp,
  }),
  { codec: true },
) {}
