import type { CallToolResult, GetPromptResult, ReadResourceResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ExposureView } from './exposure-view';

// A downstream names its own resources inside what it sends: a tool's widget template (ChatGPT Apps'
// `openai/outputTemplate`, MCP Apps' `ui.resourceUri`), resource links and embedded resources in results and prompt
// messages, the contents of a read. Each is rewritten here with the view's codec, so that every URI a client is shown
// reads back through the gateway. A URI without an exposed form is left as it is: reading it is refused as unknown.

type Meta = Record<string, unknown> | undefined;

/** The URIs a client reads back from one connection's tool definitions and results. */
export class ContentUris {
  constructor(
    private readonly view: ExposureView,
    private readonly connection: string,
  ) {}

  uri(uri: string): string {
    return this.view.uri(this.connection, uri) ?? uri;
  }

  toolMeta(meta: Meta): Meta {
    if (!meta) return meta;
    const template = meta['openai/outputTemplate'];
    const ui = meta['ui'];
    const uiUri = isObject(ui) ? ui['resourceUri'] : undefined;
    if (typeof template !== 'string' && typeof uiUri !== 'string') return meta;
    return {
      ...meta,
      ...(typeof template === 'string' ? { 'openai/outputTemplate': this.uri(template) } : {}),
      ...(typeof uiUri === 'string' && isObject(ui) ? { ui: { ...ui, resourceUri: this.uri(uiUri) } } : {}),
    };
  }

  tool<T extends Pick<Tool, '_meta'>>(tool: T): T {
    const meta = this.toolMeta(tool._meta);
    return meta === tool._meta ? tool : { ...tool, _meta: meta };
  }

  toolResult(result: CallToolResult): CallToolResult {
    if (!Array.isArray(result.content)) return result;
    return { ...result, content: result.content.map((block) => this.block(block)) };
  }

  promptResult(result: GetPromptResult): GetPromptResult {
    return { ...result, messages: result.messages.map((message) => ({ ...message, content: this.block(message.content) })) };
  }

  readResult(result: ReadResourceResult): ReadResourceResult {
    return { ...result, contents: result.contents.map((content) => ({ ...content, uri: this.uri(content.uri) })) };
  }

  // resource_link carries its URI at the top; an embedded resource in `resource`.
  private block<T>(block: T): T {
    if (!isObject(block)) return block;
    if (block['type'] === 'resource_link' && typeof block['uri'] === 'string') return { ...block, uri: this.uri(block['uri']) };
    const resource = block['resource'];
    if (block['type'] === 'resource' && isObject(resource) && typeof resource['uri'] === 'string') {
      return { ...block, resource: { ...resource, uri: this.uri(resource['uri']) } };
    }
    return block;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
