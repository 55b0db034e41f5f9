import { z } from 'zod';
import { connectionNameSchema, tagSchema } from './connection-spec.schema';
import { CONNECTION_NAME_PATTERN } from './naming';
import { TOOL_CLASSES, toolGlob } from './policy.schema';

// Endpoint names are path segments of /mcp/<name>: the connection-name alphabet, so nothing needs escaping.
export const ENDPOINT_NAME_PATTERN = CONNECTION_NAME_PATTERN;
export const endpointNameSchema = z.string().regex(ENDPOINT_NAME_PATTERN, 'must be 1-32 characters of lower-case letters, digits and "-", starting with a letter or digit');

/** A management tool glob names Gatehouse's own tools only when it says so: it starts with this. */
export const MANAGEMENT_TOOL_PREFIX = 'gatehouse_';

// Which tools an endpoint serves. Connections are in scope when named or tagged (all of the organization's when
// neither is given: names may be of connections not made yet); their tools are then kept when they match one of
// `tools` (names or globs on the prefixed, canonical name) and have one of `classes` (as the organization's policy
// classifies them), each when given. Gatehouse's own tools are served only when a `tools` entry starting with
// "gatehouse_" matches them: a door never gains the management tools by a broad glob.
export const endpointSelectionSchema = z
  .object({
    connections: z.array(connectionNameSchema).max(200).optional().describe('Connections whose tools are in scope, by name'),
    tags: z.array(tagSchema).max(50).optional().describe('Connections whose tools are in scope, by any of their tags'),
    tools: z.array(toolGlob).max(500).optional().describe('Tool names or globs ("*", "?") on the prefixed name; gatehouse_* only when named so'),
    classes: z.array(z.enum(TOOL_CLASSES)).min(1).optional().describe("Annotation classes (as the organization's policy classifies the tool)"),
  })
  .strict();

export const endpointSpecSchema = z
  .object({
    name: endpointNameSchema,
    description: z.string().max(1000).default(''),
    selection: endpointSelectionSchema.default({}),
    unprefixed: z
      .boolean()
      .default(false)
      .describe("Serve the one selected connection's tools under their downstream names (a governed proxy for one server)"),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if (!spec.unprefixed) return;
    const { connections = [], tags = [] } = spec.selection;
    if (connections.length !== 1 || tags.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['unprefixed'], message: 'needs a selection of exactly one connection (selection.connections with one name, no selection.tags)' });
    }
  });

export type EndpointSelection = z.infer<typeof endpointSelectionSchema>;
export type EndpointSpec = z.infer<typeof endpointSpecSchema>;
export type EndpointSpecInput = z.input<typeof endpointSpecSchema>;
