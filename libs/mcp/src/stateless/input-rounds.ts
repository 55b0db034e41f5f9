import { randomUUID } from 'node:crypto';
import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { CallToolResult, ClientCapabilities, ErrorCode as RpcErrorCode, LoggingLevel, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { SecretCipher, secretBinding } from '@gatehouse/db';
import { ClientChannel } from '../relay/client-channel';
import { ReplyWriter } from '../session/tool-call-exchange';
import { ProtocolError } from '../tools/protocol-error';

// A call waits this long for its client's next retry before it is cancelled (the call's own deadline may end it first).
export const INPUT_WAIT_MS = 5 * 60_000;
// Our requestState is ~200 characters; anything much longer was not issued here.
const MAX_STATE_LENGTH = 2048;

/** Who may continue a held call: the principal that made it, at the same door, calling the same tool. */
export interface RoundOwner {
  organizationId: string;
  subject: string;
  door: string | null;
  tool: string;
}

/**
 * What an MCP 2026-07-28 tools/call answers with while its downstream waits for the client (SEP-2322). A class: only
 * Gatehouse makes one, so a downstream's result that names its own resultType is never taken for it.
 */
export class InputRequiredResult {
  readonly resultType = 'input_required';

  constructor(
    readonly inputRequests: Record<string, ServerRequest>,
    readonly requestState: string,
  ) {}
}

interface PendingInput {
  request: ServerRequest;
  resolve(answer: unknown): void;
  reject(reason: unknown): void;
}

/** A stateless tools/call in flight, held open across its client's rounds. */
export interface HeldCall {
  readonly id: string;
  readonly owner: RoundOwner;
  /** The round the next retry must continue; each requestState is good for one retry. */
  round: number;
  readonly controller: AbortController;
  /** The reply of the request waiting on the call now (progress and log messages go there), if one is. */
  stream: ReplyWriter | null;
  unsent: PendingInput[];
  sent: Map<string, PendingInput>;
  outcome: { result: CallToolResult } | { error: unknown } | null;
  wake: (() => void) | null;
  expiry: NodeJS.Timeout | null;
}

interface SealedState {
  call: string;
  round: number;
  door: string | null;
  tool: string;
}

/**
 * Multi-round-trip requests (SEP-2322) for stateless calls: a downstream's elicitation or sampling during a call
 * becomes an input_required result, and the client's retry (its answers and our requestState) continues the same
 * downstream call, which stays open in this process between rounds. The requestState is sealed (AES-GCM, bound to
 * the principal's organization and subject) and names the call, the round, the door and the tool, so a client cannot
 * forge one, use another principal's, continue another call with it, or replay it into a later round.
 */
@Injectable()
export class InputRounds implements OnModuleDestroy {
  private readonly calls = new Map<string, HeldCall>();

  constructor(private readonly cipher: SecretCipher) {}

  /** Starts `run` as a held call: its client channel turns requests to the client into input rounds. */
  start(owner: RoundOwner, client: { capabilities: ClientCapabilities; logLevel: LoggingLevel | null }, run: (channel: ClientChannel, call: HeldCall) => Promise<CallToolResult>): HeldCall {
    const call: HeldCall = { id: randomUUID(), owner, round: 0, controller: new AbortController(), stream: null, unsent: [], sent: new Map(), outcome: null, wake: null, expiry: null };
    this.calls.set(call.id, call);
    const channel: ClientChannel = {
      client,
      request: (request, signal) => this.ask(call, request, signal),
      notify: (notification) => Promise.resolve(client.logLevel === null ? undefined : call.stream?.send({ jsonrpc: '2.0', ...notification })),
    };
    run(channel, call).then(
      (result) => this.finish(call, { result }),
      (error: unknown) => this.finish(call, { error }),
    );
    return call;
  }

  /**
   * The call's next step for the request waiting on it: its result, or the input it needs. The client hanging up
   * while it waits cancels the call; once an input_required result is written, the call waits for the retry.
   */
  async next(call: HeldCall, reply: ReplyWriter, hangup: AbortSignal): Promise<CallToolResult | InputRequiredResult> {
    const onHangup = () => call.controller.abort('the client closed the connection');
    hangup.addEventListener('abort', onHangup, { once: true });
    if (call.expiry) clearTimeout(call.expiry);
    call.stream = reply;
    try {
      for (;;) {
        if (call.outcome) {
          if ('error' in call.outcome) throw call.outcome.error;
          return call.outcome.result;
        }
        if (call.unsent.length > 0) {
          // Requests the downstream sends at the same moment go out in one round.
          await new Promise((resolve) => setImmediate(resolve));
          return this.inputRequired(call);
        }
        await new Promise<void>((resolve) => (call.wake = resolve));
      }
    } finally {
      call.stream = null;
      hangup.removeEventListener('abort', onHangup);
    }
  }

  /** The held call a retry continues, its answers given to the downstream's requests; throws when the state is not good. */
  resume(owner: RoundOwner, requestState: unknown, inputResponses: unknown): HeldCall {
    const state = this.open(owner, requestState);
    const call = this.calls.get(state.call);
    if (!call || call.round !== state.round) {
      throw new ProtocolError(
        RpcErrorCode.InvalidParams,
        'Invalid requestState: the call it continues has ended or expired, or was already continued with it (each requestState is good for one retry; a call runs on the gateway replica that started it). Call the tool again.',
      );
    }
    if (!isObject(inputResponses)) throw new ProtocolError(RpcErrorCode.InvalidParams, 'Invalid params: a retry with requestState must carry inputResponses, an object keyed by the inputRequests it answers');
    const missing = [...call.sent.keys()].filter((key) => !(key in inputResponses));
    if (missing.length > 0) throw new ProtocolError(RpcErrorCode.InvalidParams, `Invalid params: inputResponses has no answer for ${missing.join(', ')}`);
    call.round++;
    for (const [key, pending] of call.sent) pending.resolve(inputResponses[key]);
    call.sent.clear();
    return call;
  }

  onModuleDestroy(): void {
    for (const call of this.calls.values()) call.controller.abort('the gateway is shutting down');
  }

  private ask(call: HeldCall, request: ServerRequest, signal: AbortSignal): Promise<unknown> {
    return new Promise((resolve, reject) => {
      signal.throwIfAborted();
      const pending: PendingInput = { request, resolve, reject };
      // Withdrawn (the downstream cancelled, the call ended): dropped from the round.
      signal.addEventListener(
        'abort',
        () => {
          call.unsent = call.unsent.filter((other) => other !== pending);
          for (const [key, other] of call.sent) if (other === pending) call.sent.delete(key);
          reject(signal.reason);
        },
        { once: true },
      );
      call.unsent.push(pending);
      call.wake?.();
    });
  }

  private inputRequired(call: HeldCall): InputRequiredResult {
    const inputRequests: Record<string, ServerRequest> = {};
    call.unsent.forEach((pending, index) => {
      const key = `r${call.round}-${index}`;
      call.sent.set(key, pending);
      inputRequests[key] = pending.request;
    });
    call.unsent = [];
    // Nobody waits on the call until the retry: bounded, so a client that never comes back frees the downstream.
    call.expiry = setTimeout(() => call.controller.abort('the client did not answer its input requests in time'), INPUT_WAIT_MS);
    call.expiry.unref();
    const state: SealedState = { call: call.id, round: call.round, door: call.owner.door, tool: call.owner.tool };
    return new InputRequiredResult(inputRequests, this.cipher.seal(JSON.stringify(state), this.binding(call.owner)));
  }

  private open(owner: RoundOwner, requestState: unknown): SealedState {
    const refused = new ProtocolError(RpcErrorCode.InvalidParams, 'Invalid requestState: it was not issued by this gateway to this client for this tool and door (tampered with, or another principal’s)');
    if (typeof requestState !== 'string' || requestState.length > MAX_STATE_LENGTH) throw refused;
    let state: SealedState;
    try {
      state = JSON.parse(this.cipher.open(requestState, this.binding(owner))) as SealedState;
    } catch {
      throw refused;
    }
    if (state.door !== owner.door || state.tool !== owner.tool) throw refused;
    return state;
  }

  private binding(owner: RoundOwner): string {
    return secretBinding.requestState(owner.organizationId, owner.subject);
  }

  private finish(call: HeldCall, outcome: NonNullable<HeldCall['outcome']>): void {
    call.outcome = outcome;
    if (call.expiry) clearTimeout(call.expiry);
    this.calls.delete(call.id);
    call.wake?.();
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
