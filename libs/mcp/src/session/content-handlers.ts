import { Injectable, Logger } from '@nestjs/common';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CompleteRequest,
  CompleteRequestSchema,
  CompleteResult,
  CompleteResultSchema,
  ErrorCode as RpcErrorCode,
  GetPromptRequestSchema,
  GetPromptResultSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ReadResourceRequestSchema,
  ReadResourceResultSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { AuditRecorder } from '@gatehouse/audit';
import { AppConfig } from '@gatehouse/config';
import { ConnectionRuntime, ContentUris, ExposureView, uriProblem } from '@gatehouse/connections';
import { PolicyResource, ToolAccessPolicy } from '@gatehouse/governance';
import { auditActorOf, Principal } from '@gatehouse/identity';
import { ProtocolError } from '../tools/protocol-error';
import type { McpRequestExtra } from '../tools/tool-call.dispatcher';
import { ContentCatalog, promptResource, resourceResource } from './content-catalog';
import { CONTENT_ERRORS, contentError, failureOutcome } from './content-errors';
import { doorOf, exposureOf } from './door-exposure';
import { pageOf } from './list-pages';
import { principalOf, sessionIdOf } from './request-principal';
import { ResourceSubscriptions } from './resource-subscriptions';

/** What an audit record names: the item as the client asked for it, and once resolved, where it lives. */
interface ContentTarget {
  type: 'prompt' | 'resource';
  /** The exposed name or URI (a caller's text, bounded). */
  name: string;
  connection?: string;
  /** The downstream's own name or URI. */
  downstream?: string;
}

type ContentKind = 'prompts.get' | 'resources.read' | 'resources.subscribe' | 'resources.unsubscribe' | 'completion.complete';

// An audit record holds the name the caller sent; a hostile one (100 KB) is cut.
const TARGET_CHARS = 512;

// The upstream side of prompts, resources, resource templates, subscriptions and completions: each request resolved
// through the door's ExposureView to its connection, decided by the policy (rules by kind), relayed to the downstream
// with a call's safeguards (DownstreamClient.request), its URIs rewritten back (ContentUris), and audited. Lists come
// from memory (ContentCatalog).
@Injectable()
export class ContentHandlers {
  private readonly logger = new Logger(ContentHandlers.name);

  constructor(
    private readonly config: AppConfig,
    private readonly catalog: ContentCatalog,
    private readonly access: ToolAccessPolicy,
    private readonly subscriptions: ResourceSubscriptions,
    private readonly recorder: AuditRecorder,
  ) {}

  register(server: Server): void {
    const pageSize = this.config.env.GATEHOUSE_TOOLS_PAGE_SIZE;

    server.setRequestHandler(ListPromptsRequestSchema, async (request, extra) => {
      const view = exposureOf(doorOf(extra));
      const principal = principalOf(extra);
      const page = pageOf(await this.catalog.prompts(principal, view), request.params?.cursor, pageSize, 'prompts/list');
      await this.recordList(principal, 'prompts.list', extra, page, request.params?.cursor);
      return { prompts: page.items, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
    });
    server.setRequestHandler(ListResourcesRequestSchema, async (request, extra) => {
      const view = exposureOf(doorOf(extra));
      const principal = principalOf(extra);
      const page = pageOf(await this.catalog.resources(principal, view), request.params?.cursor, pageSize, 'resources/list');
      await this.recordList(principal, 'resources.list', extra, page, request.params?.cursor);
      return { resources: page.items, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
    });
    server.setRequestHandler(ListResourceTemplatesRequestSchema, async (request, extra) => {
      const view = exposureOf(doorOf(extra));
      const principal = principalOf(extra);
      const page = pageOf(await this.catalog.templates(principal, view), request.params?.cursor, pageSize, 'resources/templates/list');
      await this.recordList(principal, 'resources.templates.list', extra, page, request.params?.cursor);
      return { resourceTemplates: page.items, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
    });

    server.setRequestHandler(GetPromptRequestSchema, (request, extra) => {
      const view = exposureOf(doorOf(extra));
      const { name, arguments: args = {} } = request.params;
      const target: ContentTarget = { type: 'prompt', name: name.slice(0, TARGET_CHARS) };
      return this.audited('prompts.get', extra, target, async (principal) => {
        const { runtime, prompt } = this.catalog.prompt(principal, view, name);
        Object.assign(target, { connection: runtime.name, downstream: prompt.name });
        await this.check(principal, promptResource(runtime, prompt.name), args);
        const missing = (prompt.arguments ?? []).filter((argument) => argument.required && args[argument.name] === undefined).map((argument) => argument.name);
        if (missing.length) throw new ProtocolError(RpcErrorCode.InvalidParams, `Prompt "${name}" requires the argument${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
        const result = await this.relay(runtime, 'prompts/get', () =>
          runtime.client.request({ method: 'prompts/get', params: { name: prompt.name, arguments: args } }, GetPromptResultSchema, { signal: extra.signal }),
        );
        return { result: new ContentUris(view, runtime.name).promptResult(result), data: { messages: result.messages.length } };
      });
    });

    server.setRequestHandler(ReadResourceRequestSchema, (request, extra) => {
      const view = exposureOf(doorOf(extra));
      const target: ContentTarget = { type: 'resource', name: request.params.uri.slice(0, TARGET_CHARS) };
      return this.audited('resources.read', extra, target, async (principal) => {
        const resolved = this.catalog.uri(principal, view, request.params.uri);
        Object.assign(target, { connection: resolved.runtime.name, downstream: resolved.downstream });
        await this.check(principal, resourceResource(resolved.runtime, resolved.downstream), {});
        const result = await this.relay(resolved.runtime, 'resources/read', () =>
          resolved.runtime.client.request({ method: 'resources/read', params: { uri: resolved.downstream } }, ReadResourceResultSchema, { signal: extra.signal }),
        );
        const mimeTypes = [...new Set(result.contents.flatMap((content) => (content.mimeType ? [content.mimeType.slice(0, 100)] : [])))].slice(0, 10);
        return { result: new ContentUris(view, resolved.runtime.name).readResult(result), data: { contents: result.contents.length, mimeTypes } };
      });
    });

    server.setRequestHandler(SubscribeRequestSchema, (request, extra) => {
      const view = exposureOf(doorOf(extra));
      const target: ContentTarget = { type: 'resource', name: request.params.uri.slice(0, TARGET_CHARS) };
      return this.audited('resources.subscribe', extra, target, async (principal) => {
        const resolved = this.catalog.uri(principal, view, request.params.uri);
        Object.assign(target, { connection: resolved.runtime.name, downstream: resolved.downstream });
        await this.check(principal, resourceResource(resolved.runtime, resolved.downstream), {});
        const capabilities = resolved.runtime.client.capabilities;
        if (capabilities && !capabilities.resources?.subscribe) {
          throw new ProtocolError(RpcErrorCode.InvalidParams, `Connection "${resolved.runtime.name}" does not offer resource subscriptions`);
        }
        const sessionId = this.sessionOf(extra);
        await this.relay(resolved.runtime, 'resources/subscribe', () => this.subscriptions.subscribe(sessionId, resolved, extra.signal));
        return { result: {}, data: {} };
      });
    });

    // Idempotent, and not a policy decision: letting go is always allowed, even of what the policy now denies.
    server.setRequestHandler(UnsubscribeRequestSchema, (request, extra) => {
      const target: ContentTarget = { type: 'resource', name: request.params.uri.slice(0, TARGET_CHARS) };
      return this.audited('resources.unsubscribe', extra, target, async () => {
        const problem = uriProblem(request.params.uri);
        if (problem) throw new ProtocolError(RpcErrorCode.InvalidParams, `Invalid resource URI: ${problem}`);
        const held = await this.subscriptions.unsubscribeSession(this.sessionOf(extra), request.params.uri);
        return { result: {}, data: { held } };
      });
    });

    server.setRequestHandler(CompleteRequestSchema, (request, extra) => {
      const view = exposureOf(doorOf(extra));
      const { ref } = request.params;
      const target: ContentTarget = ref.type === 'ref/prompt' ? { type: 'prompt', name: ref.name.slice(0, TARGET_CHARS) } : { type: 'resource', name: ref.uri.slice(0, TARGET_CHARS) };
      return this.audited<CompleteResult>('completion.complete', extra, target, async (principal) => {
        const { runtime, downstreamRef, resource } = this.completionRef(principal, view, ref);
        Object.assign(target, { connection: runtime.name, downstream: downstreamRef.type === 'ref/prompt' ? downstreamRef.name : downstreamRef.uri });
        await this.check(principal, resource, {});
        const data = { argument: request.params.argument.name.slice(0, 100) };
        const capabilities = runtime.client.capabilities;
        if (capabilities && !capabilities.completions) return { result: { completion: { values: [], hasMore: false } }, data };
        const result = await this.relay(runtime, 'completion/complete', () =>
          runtime.client.request({ method: 'completion/complete', params: { ...request.params, ref: downstreamRef } }, CompleteResultSchema, { signal: extra.signal }),
        );
        return { result, data: { ...data, values: result.completion.values.length } };
      });
    });
  }

  private completionRef(principal: Principal, view: ExposureView, ref: CompleteRequest['params']['ref']) {
    if (ref.type === 'ref/prompt') {
      const { runtime, prompt } = this.catalog.prompt(principal, view, ref.name);
      return { runtime, downstreamRef: { type: 'ref/prompt' as const, name: prompt.name }, resource: promptResource(runtime, prompt.name) };
    }
    const resolved = this.catalog.uri(principal, view, ref.uri);
    return { runtime: resolved.runtime, downstreamRef: { type: 'ref/resource' as const, uri: resolved.downstream }, resource: resourceResource(resolved.runtime, resolved.downstream, resolved.downstream.includes('{')) };
  }

  /** The policy's decision on reading a prompt or resource: a denial is the caller's error, naming the rule. */
  private async check(principal: Principal, resource: PolicyResource, args: Record<string, unknown>): Promise<void> {
    const decision = await this.access.decide(principal, resource, args);
    if (decision.effect === 'allow') return;
    // require_approval cannot be saved for prompts and resources (policy.schema.ts); were one to reach here, a read is
    // not held for approval: it is refused.
    const noun = resource.kind === 'prompt' ? 'prompt' : 'resource';
    throw CONTENT_ERRORS.denied(`${decision.rule.description ?? `role ${principal.role} may not read the ${noun} "${resource.tool.slice(0, 200)}"`} (policy rule "${decision.rule.name}")`);
  }

  private async relay<T>(runtime: ConnectionRuntime, method: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw contentError(error, runtime.name, method, this.logger);
    }
  }

  private sessionOf(extra: McpRequestExtra): string {
    const sessionId = sessionIdOf(extra);
    if (!sessionId) throw new ProtocolError(RpcErrorCode.InvalidRequest, 'Subscriptions need a session: send initialize first');
    return sessionId;
  }

  // Every request leaves one record, refusals included; the answer waits for it, as tools.list's does.
  private async audited<T>(kind: ContentKind, extra: McpRequestExtra, target: ContentTarget, run: (principal: Principal) => Promise<{ result: T; data: Record<string, unknown> }>): Promise<T> {
    const principal = principalOf(extra);
    const record = (outcome: string, data: Record<string, unknown>) =>
      this.recorder.record({ organizationId: principal.organizationId, kind, actor: auditActorOf(principal), target: { ...target }, outcome, data: { sessionId: sessionIdOf(extra), ...data } });
    try {
      const { result, data } = await run(principal);
      await record('success', data);
      return result;
    } catch (error) {
      const refusal = contentError(error, target.connection ?? 'unknown', kind, this.logger);
      await record(failureOutcome(error), { error: refusal.message });
      throw refusal;
    }
  }

  private recordList(principal: Principal, kind: 'prompts.list' | 'resources.list' | 'resources.templates.list', extra: McpRequestExtra, page: { items: unknown[]; nextCursor?: string }, cursor: string | undefined) {
    return this.recorder.record({
      organizationId: principal.organizationId,
      kind,
      actor: auditActorOf(principal),
      target: { type: 'mcp_session', id: sessionIdOf(extra) },
      outcome: 'success',
      data: { count: page.items.length, cursor: cursor !== undefined, more: page.nextCursor !== undefined },
    });
  }
}
