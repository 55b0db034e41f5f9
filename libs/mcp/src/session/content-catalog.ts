import { Injectable } from '@nestjs/common';
import { ErrorCode as RpcErrorCode, Prompt, Resource, ResourceTemplate } from '@modelcontextprotocol/sdk/types.js';
import { ConnectionRegistry, ConnectionRuntime, ExposureView, PREFIXED_VIEW, uriProblem } from '@gatehouse/connections';
import { PolicyResource, ToolAccessPolicy, ToolLister } from '@gatehouse/governance';
import { Principal } from '@gatehouse/identity';
import { ProtocolError } from '../tools/protocol-error';
import { CONTENT_ERRORS } from './content-errors';

/** A prompt of one connection, as a door names it. */
export interface ResolvedPrompt {
  runtime: ConnectionRuntime;
  prompt: Prompt;
  exposed: string;
}

/** A resource URI (or template) of one connection, as a door names it and as its downstream does. */
export interface ResolvedUri {
  runtime: ConnectionRuntime;
  exposed: string;
  downstream: string;
}

const ORIGIN = 'io.gatehouse/connection';

// Prompts, resources and resource templates of an organization's connections as one principal sees them through a
// door (its ExposureView): named, filtered by the policy (rules by kind, see policy.schema.ts), and resolved back.
// Lists are read from memory (ConnectionListings); nothing here waits on a downstream.
@Injectable()
export class ContentCatalog {
  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly access: ToolAccessPolicy,
  ) {}

  async prompts(principal: Principal, view: ExposureView): Promise<Prompt[]> {
    const lister = await this.access.lister(principal);
    return this.runtimes(principal, view).flatMap((runtime) =>
      runtime.listings.prompts.flatMap((prompt) => {
        const name = view.promptName(runtime.name, prompt.name);
        if (!listed(lister, promptResource(runtime, prompt.name))) return [];
        return [{ ...prompt, name, _meta: { ...prompt._meta, [ORIGIN]: runtime.name, 'io.gatehouse/prompt': prompt.name } }];
      }),
    );
  }

  async resources(principal: Principal, view: ExposureView): Promise<Resource[]> {
    const lister = await this.access.lister(principal);
    return this.runtimes(principal, view).flatMap((runtime) =>
      runtime.listings.resources.flatMap((resource) => {
        const uri = view.uri(runtime.name, resource.uri);
        if (uri === null || !listed(lister, resourceResource(runtime, resource.uri))) return [];
        return [{ ...resource, uri, _meta: { ...resource._meta, [ORIGIN]: runtime.name } }];
      }),
    );
  }

  async templates(principal: Principal, view: ExposureView): Promise<ResourceTemplate[]> {
    const lister = await this.access.lister(principal);
    return this.runtimes(principal, view).flatMap((runtime) =>
      runtime.listings.templates.flatMap((template) => {
        const uriTemplate = view.uriTemplate(runtime.name, template.uriTemplate);
        if (uriTemplate === null || !listed(lister, resourceResource(runtime, template.uriTemplate, true))) return [];
        return [{ ...template, uriTemplate, _meta: { ...template._meta, [ORIGIN]: runtime.name } }];
      }),
    );
  }

  /** The prompt an exposed name stands for in the principal's organization; an unknown name is the caller's error. */
  prompt(principal: Principal, view: ExposureView, exposed: string): ResolvedPrompt {
    const connection = view.promptConnection(exposed);
    const runtime = connection ? this.runtimeNamed(principal, view, connection) : undefined;
    const prompt = runtime?.listings.prompts.find((candidate) => view.promptName(runtime.name, candidate.name) === exposed);
    if (!runtime || !prompt) throw CONTENT_ERRORS.unknownPrompt(exposed);
    return { runtime, prompt, exposed };
  }

  /**
   * The connection and downstream URI of an exposed URI (or template) in the principal's organization. A URI no door
   * produced, or naming no connection of this organization, is not found: the same answer either way, so another
   * organization's connection names cannot be probed.
   */
  uri(principal: Principal, view: ExposureView, exposed: string): ResolvedUri {
    const problem = uriProblem(exposed);
    if (problem) throw new ProtocolError(RpcErrorCode.InvalidParams, `Invalid resource URI: ${problem}`);
    const resolved = view.resolveUri(exposed);
    const runtime = resolved ? this.runtimeNamed(principal, view, resolved.connection) : undefined;
    // A connection that is down answers for itself when asked (unavailable); one whose server has no resources has none.
    const capabilities = runtime?.client.capabilities;
    if (!resolved || !runtime || (capabilities && !capabilities.resources)) throw CONTENT_ERRORS.resourceNotFound(exposed);
    return { runtime, exposed, downstream: resolved.uri };
  }

  // A connection the door does not serve is as unknown as one that does not exist.
  private runtimes(principal: Principal, view: ExposureView): ConnectionRuntime[] {
    return this.registry.runtimesOf(principal.organizationId).filter((runtime) => view.includesConnection(runtime.name));
  }

  private runtimeNamed(principal: Principal, view: ExposureView, connection: string): ConnectionRuntime | undefined {
    return view.includesConnection(connection) ? this.registry.runtimeNamed(principal.organizationId, connection) : undefined;
  }
}

// The policy decides on the names /mcp gives (prefixed), whichever door a request came through, as it does for tools:
// a rule written for `github_summarize` or `ui://github/*` means the same at an unprefixed `github` endpoint.
export function promptResource(runtime: ConnectionRuntime, downstreamName: string): PolicyResource {
  return { kind: 'prompt', connection: runtime.name, tool: PREFIXED_VIEW.promptName(runtime.name, downstreamName), annotations: undefined };
}

export function resourceResource(runtime: ConnectionRuntime, downstreamUri: string, template = false): PolicyResource {
  const canonical = (template ? PREFIXED_VIEW.uriTemplate : PREFIXED_VIEW.uri)(runtime.name, downstreamUri) ?? downstreamUri;
  return { kind: 'resource', connection: runtime.name, tool: canonical, annotations: undefined };
}

function listed(lister: ToolLister, resource: PolicyResource): boolean {
  return lister.listing(resource).listed;
}
