import { createHmac } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig, canonicalJson } from '@gatehouse/config';
import type { AuditSettings } from '@gatehouse/db';
import { compileRedactPath, Mask, redact, RedactPath } from './redact';

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
// key can test guesses against them.
@Injectable()
export class AuditRedactor {
  private readonly key: Buffer;
  // Settings objects are cached per organization and replaced when they change, so this never goes stale.
  private readonly compiled = new WeakMap<readonly string[], RedactPath[]>();
  private readonly mask: Mask = (value) =>
    `hmac-sha256:${createHmac('sha256', this.key)
      .update(typeof value === 'string' ? value : canonicalJson(value))
      .digest('hex')}`;

  constructor(config: AppConfig) {
    this.key = config.deriveKey('gatehouse audit redaction');
  }

  /** The arguments as the request record keeps them; undefined at level `metadata`. */
  arguments(args: Record<string, unknown>, settings: AuditSettings, extraPaths: readonly string[] = []): unknown {
    if (settings.level === 'metadata') return undefined;
    const paths = extraPaths.length ? [...this.paths(settings.redactPaths), ...this.paths(extraPaths)] : this.paths(settings.redactPaths);
    return redact(args, paths, this.mask);
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
    // Cut on a character boundary: a partial multi-byte character would not survive jsonb.
    const cut = Buffer.from(json).subarray(0, settings.resultMaxBytes).toString('utf8').replace(/\uFFFD$/, '');
    return { result: cut, truncated: true, resultBytes: bytes };
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
