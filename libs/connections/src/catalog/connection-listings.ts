import { Logger } from '@nestjs/common';
import type { Prompt, Resource, ResourceTemplate } from '@modelcontextprotocol/sdk/types.js';
import type { DownstreamClient, ListedPages } from '../downstream/downstream-client';
import { describeError } from '../downstream/downstream.errors';
import { exposeUri, exposeUriTemplate } from '../naming/resource-uri';
import { CoalescedTask } from '../runtime/coalesced-task';
import {
  MAX_LISTED_ENTRY_BYTES,
  MAX_LISTING_BYTES,
  MAX_PROMPTS_PER_CONNECTION,
  MAX_RESOURCE_TEMPLATES_PER_CONNECTION,
  MAX_RESOURCES_PER_CONNECTION,
} from './catalog-limits';

/** What a list_changed notification names: resources/list and resources/templates/list share one. */
export type ListingKind = 'prompts' | 'resources';

const MAX_PROMPT_NAME_LENGTH = 256;

interface Bounded<T> {
  items: T[];
  /** Why entries were left out, for the log. */
  problems: string[];
}

// One connection's prompts, resources and resource templates as its downstream listed them, read from memory by every
// prompts/list and resources/list (never waiting on the downstream), re-read when the downstream announces a change,
// when it (re)connects and on the periodic refresh. Only kinds the server declares are asked for. A list that cannot
// be read keeps the last good one. Entries are kept as the downstream sent them: the door that serves them names them.
export class ConnectionListings {
  private readonly logger: Logger;
  private readonly refreshing = new CoalescedTask(() => this.fetch());
  private _prompts: Prompt[] = [];
  private _resources: Resource[] = [];
  private _templates: ResourceTemplate[] = [];

  constructor(
    private readonly connection: string,
    private readonly client: DownstreamClient,
    private readonly onChanged: (kind: ListingKind) => void,
  ) {
    this.logger = new Logger(`Connection:${connection}`);
  }

  get prompts(): readonly Prompt[] {
    return this._prompts;
  }

  get resources(): readonly Resource[] {
    return this._resources;
  }

  get templates(): readonly ResourceTemplate[] {
    return this._templates;
  }

  prompt(name: string): Prompt | undefined {
    return this._prompts.find((prompt) => prompt.name === name);
  }

  refresh(): Promise<void> {
    return this.refreshing.run();
  }

  private async fetch(): Promise<void> {
    const capabilities = this.client.capabilities;
    if (!capabilities) return;
    const [prompts, resources, templates] = await Promise.all([
      capabilities.prompts ? this.read('prompts', MAX_PROMPTS_PER_CONNECTION, (enough) => this.client.listPrompts(enough), promptProblem) : [],
      capabilities.resources
        ? this.read('resources', MAX_RESOURCES_PER_CONNECTION, (enough) => this.client.listResources(enough), (resource) => this.uriProblem(resource.uri))
        : [],
      capabilities.resources
        ? this.read('resource templates', MAX_RESOURCE_TEMPLATES_PER_CONNECTION, (enough) => this.client.listResourceTemplates(enough), (template) =>
            this.templateProblem(template.uriTemplate),
          )
        : [],
    ]);
    const promptsChanged = this.replace(prompts, this._prompts, (next) => (this._prompts = next));
    const resourcesChanged = this.replace(resources, this._resources, (next) => (this._resources = next));
    const templatesChanged = this.replace(templates, this._templates, (next) => (this._templates = next));
    if (promptsChanged) this.onChanged('prompts');
    if (resourcesChanged || templatesChanged) this.onChanged('resources');
  }

  /** The bounded list, or null (keep the last good one) when the downstream could not list it. */
  private async read<T>(
    what: string,
    limit: number,
    list: (enough: (count: number) => boolean) => Promise<ListedPages<T>>,
    problem: (item: T) => string | null,
  ): Promise<T[] | null> {
    try {
      const listed = await list((count) => count > limit);
      const { items, problems } = bounded(listed, limit, problem);
      if (problems.length) this.logger.warn(`Some ${what} were left out: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? ` (and ${problems.length - 10} more)` : ''}`);
      return items;
    } catch (error) {
      this.logger.warn(`Could not list ${what}; serving the last good list: ${describeError(error)}`);
      return null;
    }
  }

  private replace<T>(next: T[] | null, current: T[], set: (next: T[]) => void): boolean {
    if (next === null || JSON.stringify(next) === JSON.stringify(current)) return false;
    set(next);
    return true;
  }

  private uriProblem(uri: string): string | null {
    return exposeUri(this.connection, uri) === null ? 'a URI without a scheme, with control characters or too long' : null;
  }

  private templateProblem(template: string): string | null {
    return exposeUriTemplate(this.connection, template) === null ? 'a URI template that does not parse (RFC 6570) or has no literal scheme' : null;
  }
}

function promptProblem(prompt: Prompt): string | null {
  return prompt.name.length === 0 || prompt.name.length > MAX_PROMPT_NAME_LENGTH ? `a prompt name of ${prompt.name.length} characters` : null;
}

// Count first, then each entry's size and the running total: what is kept is bounded whatever the downstream sent.
function bounded<T>(listed: ListedPages<T>, limit: number, problem: (item: T) => string | null): Bounded<T> {
  const items: T[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  let bytes = 0;
  for (const item of listed.items) {
    if (items.length === limit) {
      problems.push(`more than ${limit} listed, the limit per connection`);
      break;
    }
    const json = JSON.stringify(item);
    const size = Buffer.byteLength(json);
    const why = problem(item) ?? (size > MAX_LISTED_ENTRY_BYTES ? `an entry of ${size} bytes, over the limit of ${MAX_LISTED_ENTRY_BYTES}` : null);
    if (why) {
      problems.push(why);
      continue;
    }
    if (bytes + size > MAX_LISTING_BYTES) {
      problems.push(`the list is over ${MAX_LISTING_BYTES} bytes, the limit per connection`);
      break;
    }
    const key = identity(item);
    if (seen.has(key)) {
      problems.push(`a duplicate (${key.slice(0, 100)})`);
      continue;
    }
    seen.add(key);
    bytes += size;
    items.push(item);
  }
  if (!listed.complete && items.length < limit && problems.length === 0) problems.push('the downstream had more pages than the gateway reads');
  return { items, problems };
}

function identity(item: unknown): string {
  const entry = item as { name?: string; uri?: string; uriTemplate?: string };
  return entry.uri ?? entry.uriTemplate ?? entry.name ?? '';
}
