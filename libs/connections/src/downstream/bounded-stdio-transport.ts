import { ChildProcess, spawn } from 'node:child_process';
import { getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { deserializeMessage, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { BoundedLineSplitter } from './bounded-lines';

export interface BoundedStdioParameters {
  command: string;
  args: string[];
  /** Added to the SDK's default environment (HOME, PATH, …); nothing else of the gateway's is passed on. */
  env: Record<string, string>;
  cwd?: string;
  /** The longest stdout line (one JSON-RPC message). */
  maxMessageBytes: number;
  /** The longest stderr line reported whole; a longer one is reported cut to this. */
  maxStderrLineBytes: number;
  onStderrLine(line: string, cut: boolean): void;
  /** A stdout line passed maxMessageBytes: stdout is no longer read (it is mid-message), so the child must go. */
  onOverflow(): void;
}

const CLOSE_GRACE_MS = 2_000;
const CR = 0x0d;

/**
 * The SDK's StdioClientTransport (same spawn, environment and close sequence: stdin closed, then SIGTERM,
 * then SIGKILL, two seconds apart), except that stdout and stderr are split into lines of bounded length:
 * the SDK's buffer keeps a line until its newline, which a downstream may never send.
 */
export class BoundedStdioClientTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private process: ChildProcess | undefined;
  /** While stdin's buffer is full: settles once it drains or closes. */
  private writable: Promise<void> | null = null;
  private readonly stdout: BoundedLineSplitter;
  private readonly stderr: BoundedLineSplitter;

  constructor(private readonly params: BoundedStdioParameters) {
    // One byte more than a message, for the "\r" of a CRLF line ending.
    this.stdout = new BoundedLineSplitter(params.maxMessageBytes + 1, {
      line: (line) => this.receive(line),
      long: () => this.overflow(),
    });
    this.stderr = new BoundedLineSplitter(params.maxStderrLineBytes, {
      line: (line) => params.onStderrLine(line.toString('utf8'), false),
      long: (prefix) => params.onStderrLine(prefix.toString('utf8'), true),
    });
  }

  get pid(): number | null {
    return this.process?.pid ?? null;
  }

  start(): Promise<void> {
    if (this.process) throw new Error('BoundedStdioClientTransport already started');
    return new Promise((resolve, reject) => {
      // node's spawn is what the SDK's cross-spawn comes down to outside Windows.
      const child = spawn(this.params.command, this.params.args, {
        env: { ...getDefaultEnvironment(), ...this.params.env },
        stdio: ['pipe', 'pipe', 'pipe'],
        shell: false,
        ...(this.params.cwd ? { cwd: this.params.cwd } : {}),
      });
      this.process = child;
      child.on('error', (error) => {
        reject(error);
        this.onerror?.(error);
      });
      child.on('spawn', () => resolve());
      child.on('close', () => {
        this.process = undefined;
        this.onclose?.();
      });
      child.stdin!.on('error', (error) => this.onerror?.(error));
      child.stdout!.on('data', (chunk: Buffer) => this.stdout.push(chunk));
      child.stdout!.on('error', (error) => this.onerror?.(error));
      child.stderr!.on('data', (chunk: Buffer) => this.stderr.push(chunk));
      child.stderr!.on('end', () => this.stderr.end());
      child.stderr!.on('error', () => undefined);
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.process?.stdin;
    if (!stdin) return Promise.reject(new Error('Not connected'));
    if (stdin.write(serializeMessage(message))) return Promise.resolve();
    // Every send while the child is not reading waits on one listener (a busy connection would otherwise add one per
    // call), and a child that closes its stdin meanwhile ends the wait: its close fails the calls.
    this.writable ??= new Promise<void>((resolve) => {
      const done = () => {
        stdin.off('drain', done).off('close', done);
        this.writable = null;
        resolve();
      };
      stdin.on('drain', done).on('close', done);
    });
    return this.writable;
  }

  async close(): Promise<void> {
    const child = this.process;
    if (!child) return;
    this.process = undefined;
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const settled = () => Promise.race([closed, new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref())]);
    child.stdin?.end();
    await settled();
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      if (signal === 'SIGTERM') await settled();
    }
  }

  private receive(line: Buffer): void {
    const message = line.at(-1) === CR ? line.subarray(0, -1) : line;
    if (message.length > this.params.maxMessageBytes) return this.overflow();
    try {
      this.onmessage?.(deserializeMessage(message.toString('utf8')));
    } catch (error) {
      this.onerror?.(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private overflow(): void {
    this.stdout.stop();
    this.process?.stdout?.destroy();
    this.params.onOverflow();
  }
}
