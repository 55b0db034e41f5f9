import { z } from 'zod';
import { endpointNameSchema, endpointSpecSchema } from '@gatehouse/config';
import { EndpointService } from '@gatehouse/governance';
import { jsonResult } from '../tools/tool-results';
import { inputSchema, ManagementTool } from './management-tool';

// Endpoints for assistants: list and read them; admins create, replace and delete them. Their keys are minted
// through the admin API only: a secret in a tool result would sit in the assistant's context (and in the audit
// log's results at level `results`).
export function endpointTools(endpoints: EndpointService): ManagementTool[] {
  const list = z.object({}).strict();
  const byName = z.object({ name: endpointNameSchema.describe('The endpoint name') }).strict();
  const write = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false };
  const save = (mode: 'create' | 'update', description: string): ManagementTool => ({
    definition: {
      name: `gatehouse_${mode}_endpoint`,
      title: `${mode === 'create' ? 'Create' : 'Update'} endpoint`,
      description,
      inputSchema: inputSchema(endpointSpecSchema),
      annotations: { ...write, idempotentHint: mode === 'update' },
    },
    permission: { action: mode, subject: 'Endpoint' },
    sensitive: true,
    input: endpointSpecSchema,
    run: async (principal, spec: z.infer<typeof endpointSpecSchema>) => jsonResult({ endpoint: await endpoints.save(principal, spec, mode) }),
  });
  return [
    {
      definition: {
        name: 'gatehouse_list_endpoints',
        title: 'List endpoints',
        description: "Lists the organization's MCP endpoints (/mcp/<name>): each one's selection of tools and its URL.",
        inputSchema: inputSchema(list),
        annotations: { readOnlyHint: true, openWorldHint: false },
      },
      permission: { action: 'read', subject: 'Endpoint' },
      input: list,
      run: async (principal) => jsonResult({ endpoints: await endpoints.list(principal.organizationId) }),
    },
    save('create', 'Creates an MCP endpoint, /mcp/<name>: a narrower door serving a selection of tools (connections by name or tag, ' +
      'tool names or globs, annotation classes); unprefixed serves one connection under its own tool names. Admins only.'),
    save('update', "Replaces an endpoint's description, selection and unprefixed setting (the config file's are read-only). Admins only."),
    {
      definition: {
        name: 'gatehouse_delete_endpoint',
        title: 'Delete endpoint',
        description: 'Deletes an endpoint and its keys, which stop working at once. Admins only.',
        inputSchema: inputSchema(byName),
        annotations: { ...write, destructiveHint: true, idempotentHint: true },
      },
      permission: { action: 'delete', subject: 'Endpoint' },
      sensitive: true,
      input: byName,
      run: async (principal, input: z.infer<typeof byName>) => {
        await endpoints.remove(principal, input.name);
        return jsonResult({ deleted: input.name });
      },
    },
  ];
}
