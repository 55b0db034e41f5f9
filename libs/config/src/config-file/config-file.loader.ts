import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { z } from 'zod';
import { configFileSchema, DeclarativeConfig } from './config-file.schema';

export class ConfigFileError extends Error {
  constructor(
    readonly file: string,
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${file}: ${path ? `${path}: ` : ''}${problem}`);
    this.name = 'ConfigFileError';
  }
}

/** A loaded file: the validated config plus the resolved secrets of its API keys and local accounts. */
export interface LoadedConfigFile {
  file: string;
  config: DeclarativeConfig;
  /** secretEnv / passwordEnv name → value, read at load time so a missing one fails before anything is applied. */
  secrets: ReadonlyMap<string, string>;
}

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((out, part) => {
    if (typeof part === 'number') return `${out}[${part}]`;
    return out ? `${out}.${String(part)}` : String(part);
  }, '');
}

// Substitutes ${NAME} in every string scalar; secrets never sit in the file itself.
function substitute(value: unknown, env: NodeJS.ProcessEnv, file: string, path: PropertyKey[]): unknown {
  if (typeof value === 'string') {
    return value.replace(PLACEHOLDER, (_match, name: string) => {
      const resolved = env[name];
      if (resolved === undefined) {
        throw new ConfigFileError(file, formatPath(path), `environment variable ${name} is not set`);
      }
      return resolved;
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => substitute(item, env, file, [...path, index]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, substitute(item, env, file, [...path, key])]),
    );
  }
  return value;
}

export function parseConfigFile(file: string, text: string, env: NodeJS.ProcessEnv): LoadedConfigFile {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const yamlError = document.errors[0];
  if (yamlError) {
    const line = yamlError.linePos?.[0];
    const message = yamlError.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigFileError(file, line ? `line ${line.line}:${line.col}` : '', message);
  }
  const contents = document.contents;
  if (contents !== null && !isMap(contents) && !(isScalar(contents) && contents.value === null) && !isSeq(contents)) {
    throw new ConfigFileError(file, '', 'expected a mapping at the top level');
  }
  const raw = substitute(document.toJS() ?? {}, env, file, []);
  const parsed = configFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigFileError(file, formatPath(issue.path), describeIssue(issue));
  }

  const secrets = new Map<string, string>();
  const readSecret = (name: string, path: string, minLength: number) => {
    const secret = env[name];
    if (!secret || secret.length < minLength) {
      throw new ConfigFileError(
        file,
        path,
        secret ? `${name} must hold at least ${minLength} characters` : `environment variable ${name} is not set`,
      );
    }
    secrets.set(name, secret);
  };
  parsed.data.organizations.forEach((organization, o) => {
    organization.apiKeys.forEach((key, k) => readSecret(key.secretEnv, `organizations[${o}].apiKeys[${k}].secretEnv`, 16));
    if (organization.identityProvider) {
      readSecret(organization.identityProvider.clientSecretEnv, `organizations[${o}].identityProvider.clientSecretEnv`, 1);
    }
    organization.members.forEach((member, m) => {
      if (member.passwordEnv) readSecret(member.passwordEnv, `organizations[${o}].members[${m}].passwordEnv`, 12);
    });
    organization.webhooks.forEach((webhook, w) => readSecret(webhook.secretEnv, `organizations[${o}].webhooks[${w}].secretEnv`, 16));
    organization.auditSinks.forEach((sink, s) => {
      if (sink.type === 'webhook') readSecret(sink.secretEnv, `organizations[${o}].auditSinks[${s}].secretEnv`, 16);
      if (sink.type === 'splunk_hec') readSecret(sink.tokenEnv, `organizations[${o}].auditSinks[${s}].tokenEnv`, 1);
    });
  });
  return { file, config: parsed.data, secrets };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
  return issue.message;
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv): LoadedConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigFileError(file, '', `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  return parseConfigFile(file, text, env);
}
