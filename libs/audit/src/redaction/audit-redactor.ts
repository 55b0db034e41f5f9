import { createHash, createHmac } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig, canonicalJson, PlatformSettings } from '@gatehouse/config';
import type { AuditSettings } from '@gatehouse/db';
import { compileRedactPath, Mask, redact, RedactPath } from './redact';

/**
 * What a request record keeps of arguments larger than platform.limits.auditArgumentsMaxBytes: the start of their
 * JSON, and the hash of all of it, which still proves what was called.
 */
export interface TruncatedArguments {
  truncated: true;
  /** The size of the (redacted) arguments' JSON. */
  originalBytes: number;
  /** SHA-256 (hex) of the canonical JSON (canonicalJson) of the redacted arguments, whole. */
  sha256: string;
  /** The first bytes of their JSON, cut on a character boundary. */
  prefix: string;
}

// Room for the other fields of TruncatedArguments within the configured size.
const TRUNCATION_OVERHEAD_BYTES = 256;

/** What the outcome record keeps of a result, at level `results`. */
export interface AuditedResult {
  /** The redacted result (content and structuredContent), or its JSON cut to resultMaxBytes. */
  result: unknown;
  truncated?: true;
  /** The size of the redacted result's JSON before truncation. */
  resultBytes?: number;
}

// Applies an organization's detail level and redaction rules. Secrets become `hmac-sha256:<hex>` under a key
// derived from GATEHOUSE_SECRET_KEY: equal values still correlate across records, and nobody without the
// key can test guesses against them. For the same reason the hash of truncated arguments is taken after redaction:
// a plain hash of a secret beside a known remainder could be tested against guesses. Masks are deterministic, so
// that hash still binds every argument, secrets included.
@Injectable()
export class AuditRedactor {
  private readonly key: Buffer;
  private readonly argumentsMaxBytes: number;
  // Settings objects are cached per organization and replaced when they change, so this never goes stale.
  private readonly compiled = new WeakMap<readonly string[], RedactPath[]>();
  private readonly mask: Mask = (value) =>
    `hmac-sha256:${createHmac('sha256', this.key)
      .update(typeof value === 'string' ? value : canonicalJson(value))
      .digest('hex')}`;

  constructor(config: AppConfig, platform: PlatformSettings) {
    this.key = config.deriveKey('gatehouse audit redaction');
    this.argumentsMaxBytes = platform.limits.auditArgumentsMaxBytes;
  }

  /** The arguments as the request record keeps them (TruncatedArguments past the deployment's size); undefined at level `metadata`. */
  arguments(args: Record<string, unknown>, settings: AuditSettings, extraPaths: readonly string[] = []): unknown {
    if (settings.level === 'metadata') return undefined;
    const paths = extraPaths.length ? [...this.paths(settings.redactPaths), ...this.paths(extraPaths)] : this.paths(settings.redactPaths);
    const kept = redact(args, paths, this.mask);
    const json = JSON.stringify(kept);
    const bytes = Buffer.byteLength(json);
    if (bytes <= this.argumentsMaxBytes) return kept;
    return {
      truncated: true,
      originalBytes: bytes,
      sha256: createHash('sha256').update(canonicalJson(kept)).digest('hex'),
      prefix: storedPrefix(json, this.argumentsMaxBytes - TRUNCATION_OVERHEAD_BYTES),
    } satisfies TruncatedArguments;
  }

  /**
   * The arguments redacted as a request record's are, whatever the detail level: for showing a held call to
   * approvers and webhooks, who need to see what they decide but not its secrets.
   */
  shownArguments(args: Record<string, unknown>, settings: AuditSettings): unknown {
    return redact(args, this.paths(settings.redactPaths), this.mask);
  }

  /** The result as the outcome record keeps it (level `results` only), secrets masked by key as in arguments. */
  result(result: { content?: unknown; structuredContent?: unknown }, settings: AuditSettings): AuditedResult | undefined {
    if (settings.level !== 'results') return undefined;
    const content = Array.isArray(result.content) ? result.content.map(parsedText) : result.content;
    const kept = redact({ content, structuredContent: result.structuredContent }, [], this.mask);
    const json = JSON.stringify(kept);
    const bytes = Buffer.byteLength(json);
    if (bytes <= settings.resultMaxBytes) return { result: kept };
    return { result: utf8Prefix(json, settings.resultMaxBytes), truncated: true, resultBytes: bytes };
  }

  private paths(redactPaths: readonly string[]): RedactPath[] {
    let compiled = this.compiled.get(redactPaths);
    if (!compiled) {
      compiled = redactPaths.map(compileRedactPath);
      this.compiled.set(redactPaths, compiled);
    }
    return compiled;
  }
}

// Cut on a character boundary: a partial multi-byte character would not survive jsonb.
function utf8Prefix(text: string, bytes: number): string {
  return Buffer.from(text).subarray(0, bytes).toString('utf8').replace(/\uFFFD$/, '');
}

// The start of `json` whose stored form (a JSON string: quotes, backslashes and control characters escaped) fits in
// `budget` bytes.
function storedPrefix(json: string, budget: number): string {
  let prefix = utf8Prefix(json, budget);
  for (let stored = Buffer.byteLength(JSON.stringify(prefix)); stored > budget; stored = Buffer.byteLength(JSON.stringify(prefix))) {
    prefix = utf8Prefix(prefix, Math.floor((Buffer.byteLength(prefix) * budget) / stored) - 2);
  }
  return prefix;
}

// A text item holding JSON (the usual mirror of structuredContent) is kept parsed, so that secrets inside it are
// masked by key like everywhere else instead of being stored verbatim in a string.
function parsedText(item: unknown): unknown {
  if (typeof item !== 'object' || item === null) return item;
  const { text, ...rest } = item as { type?: unknown; text?: unknown };
  if (rest.type !== 'text' || typeof text !== 'string' || !/^\s*[[{]/.test(text)) return item;
  try {
    return { ...rest, json: JSON.parse(text) as unknown };
  } catch {
    return item;
  }
}
