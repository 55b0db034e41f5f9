import { canonicalJson, type WorkflowCondition } from '@gatehouse/config';

// References in a workflow step's arguments ("{{ inputs.team }}", "{{ steps.items.structured.issues.0.id }}"), as
// described at the top of workflow.schema.ts: finding them, parsing their paths, resolving them against a run's
// inputs and earlier results, and testing a step's `when`. Pure functions; the data they walk is JSON from a
// person or a downstream server, so every walk is iterative (no stack to exhaust) and reads own properties only.

export type JsonPath = (string | number)[];

export interface ReferenceAt {
  /** The trimmed text between the braces. */
  path: string;
  /** The reference as written, braces included. */
  raw: string;
  /** The string is this reference and nothing else, so it takes the referenced value's type. */
  whole: boolean;
  /** Where in the arguments the string sits. */
  at: JsonPath;
}

export const STEP_RESULT_FIELDS = ['structured', 'text', 'isError', 'status'] as const;
export type StepResultField = (typeof STEP_RESULT_FIELDS)[number];

export type WorkflowReference =
  | { kind: 'input'; name: string; rest: string[] }
  | { kind: 'step'; stepId: string; field: StepResultField; rest: string[] };

export interface StepResultView {
  structured?: unknown;
  text: string;
  isError: boolean;
  status: string;
}

export interface ReferenceContext {
  inputs: Record<string, unknown>;
  steps: Record<string, StepResultView>;
}

// No braces inside: "{{ {{ inputs.a }} }}" holds the reference "{{ inputs.a }}" in literal text, and "{{" with no
// "}}" is literal text. The class excludes both braces, so the scan is linear whatever the string.
const REFERENCE = /\{\{([^{}]*)\}\}/g;

// Keys that would reach Object.prototype (or a constructor) rather than the data.
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);
const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

interface Found {
  path: string;
  raw: string;
  whole: boolean;
}

/** The references in one string, in order. */
export function referencesInText(text: string): Found[] {
  if (!text.includes('{{')) return [];
  return [...text.matchAll(REFERENCE)].map((match) => ({
    path: (match[1] ?? '').trim(),
    raw: match[0],
    whole: match[0].length === text.length,
  }));
}

export function referencesIn(value: unknown): ReferenceAt[] {
  const found: ReferenceAt[] = [];
  walkStrings(value, (text, at) => {
    for (const reference of referencesInText(text)) found.push({ ...reference, at: at() });
  });
  return found;
}

/** A reference's path parsed to what it names, or why it names nothing. */
export function parseReferencePath(path: string): WorkflowReference | string {
  const trimmed = path.trim();
  if (trimmed === '') return 'the reference is empty';
  const segments = trimmed.split('.');
  const empty = segments.findIndex((segment) => segment.trim() === '');
  if (empty >= 0) return `"${trimmed}" has an empty segment (at position ${empty + 1})`;
  const forbidden = segments.find((segment) => FORBIDDEN_SEGMENTS.has(segment));
  if (forbidden !== undefined) return `"${trimmed}" uses "${forbidden}", which is not allowed in a reference`;
  const [root, ...after] = segments as [string, ...string[]];
  if (root === 'inputs') return parseInput(trimmed, after);
  if (root === 'steps') return parseStep(trimmed, after);
  return `"${trimmed}" must start with "inputs." or "steps.", not "${root}"`;
}

function parseInput(path: string, after: string[]): WorkflowReference | string {
  const [name, ...rest] = after;
  if (name === undefined) return `"${path}" names no input: write inputs.<name>`;
  return { kind: 'input', name, rest };
}

function parseStep(path: string, after: string[]): WorkflowReference | string {
  const [stepId, field, ...rest] = after;
  const fields = STEP_RESULT_FIELDS.join(', ');
  if (stepId === undefined || field === undefined) return `"${path}" must name a step and one of its ${fields}: steps.<id>.<field>`;
  if (!isStepResultField(field)) return `"${path}": a step's result has ${fields}, not "${field}"`;
  // Only structuredContent has a shape to walk; the other fields are plain values.
  if (field !== 'structured' && rest.length > 0) return `"${path}": steps.<id>.${field} has nothing under it`;
  return { kind: 'step', stepId, field, rest };
}

function isStepResultField(field: string): field is StepResultField {
  return (STEP_RESULT_FIELDS as readonly string[]).includes(field);
}

/** The value a reference path names in this run, or undefined when it names nothing (or does not parse). */
export function resolveReference(path: string, context: ReferenceContext): unknown {
  const reference = parseReferencePath(path);
  if (typeof reference === 'string') return undefined;
  if (reference.kind === 'input') return walk(ownValue(context.inputs, reference.name), reference.rest);
  const result = ownValue(context.steps, reference.stepId);
  if (!isObject(result)) return undefined;
  return walk(ownValue(result, reference.field), reference.rest);
}

function walk(start: unknown, rest: string[]): unknown {
  let current = start;
  for (const segment of rest) {
    if (current === undefined) return undefined;
    current = Array.isArray(current) ? (ARRAY_INDEX.test(segment) ? current[Number(segment)] : undefined) : ownValue(current, segment);
  }
  return current;
}

function ownValue(container: unknown, key: string): unknown {
  if (!isObject(container) || FORBIDDEN_SEGMENTS.has(key) || !Object.hasOwn(container, key)) return undefined;
  return container[key];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The arguments with every reference replaced. A whole reference to nothing leaves its property out (null in an
 * array); inside text it is the empty string. Referenced values are shared, not copied.
 */
export function resolveArguments(args: Record<string, unknown>, context: ReferenceContext): Record<string, unknown> {
  return mapStrings(args, (text) => resolveString(text, context));
}

function resolveString(text: string, context: ReferenceContext): unknown {
  const references = referencesInText(text);
  if (references.length === 0) return text;
  if (references[0]!.whole) return resolveReference(references[0]!.path, context);
  // One pass: a resolved value that itself looks like "{{ … }}" is text, never resolved again.
  return text.replace(REFERENCE, (_raw, path: string) => asText(resolveReference(path, context)));
}

function asText(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    // Only nesting deeper than the engine's stack gets here; such a value has no text worth writing.
    return '';
  }
}

// Beyond this depth two values are not compared (canonicalJson recurses) and count as different.
const MAX_COMPARED_DEPTH = 256;

export function conditionHolds(condition: WorkflowCondition, context: ReferenceContext): boolean {
  const value = resolveReference(condition.ref, context);
  if (condition.equals !== undefined) return sameJson(value, condition.equals);
  if (condition.notEquals !== undefined) return !sameJson(value, condition.notEquals);
  if (condition.exists !== undefined) return (value !== undefined) === condition.exists;
  if (condition.truthy !== undefined) return isTruthy(value) === condition.truthy;
  // The schema requires exactly one test; a condition without one never lets its step run.
  return false;
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (nestedDeeperThan(a, MAX_COMPARED_DEPTH) || nestedDeeperThan(b, MAX_COMPARED_DEPTH)) return false;
  return canonicalJson(a) === canonicalJson(b);
}

function isTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (isObject(value)) return Object.keys(value).length > 0;
  return Boolean(value);
}

/** Whether some value sits more than `limit` keys or indexes deep inside `value` ({ a: [1] } holds 1 two deep). */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  let level: unknown[] = [value];
  for (let depth = 0; level.length > 0; depth += 1) {
    if (depth > limit) return true;
    level = level.flatMap((item) => (Array.isArray(item) ? item : isObject(item) ? Object.values(item) : []));
  }
  return false;
}

// --- Iterative walks over JSON ---------------------------------------------------------------------------------

// A path kept as a chain to the parent, so that a deep walk costs nothing until a caller asks where it is.
interface PathLink {
  parent: PathLink | null;
  key: string | number;
}

function materialize(link: PathLink | null): JsonPath {
  const path: JsonPath = [];
  for (let at = link; at; at = at.parent) path.push(at.key);
  return path.reverse();
}

/** Calls `visit` for every string in `value` (objects and arrays walked, own enumerable keys only). */
export function walkStrings(value: unknown, visit: (text: string, at: () => JsonPath) => void): void {
  const stack: { value: unknown; link: PathLink | null }[] = [{ value, link: null }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { value: current, link } = item;
    if (typeof current === 'string') visit(current, () => materialize(link));
    const children: [string | number, unknown][] = Array.isArray(current) ? [...current.entries()] : isObject(current) ? Object.entries(current) : [];
    // Pushed last to first, so that strings are visited in the order they are written.
    for (let i = children.length - 1; i >= 0; i -= 1) stack.push({ value: children[i]![1], link: { parent: link, key: children[i]![0] } });
  }
}

type Container = Record<string, unknown> | unknown[];

/**
 * A copy of `args` with each string replaced by `replace(text, at)`; an undefined replacement leaves the property
 * out of its object and is null in an array (as JSON would write it).
 */
export function mapStrings(args: Record<string, unknown>, replace: (text: string, at: () => JsonPath) => unknown): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const stack: { from: Container; to: Container; link: PathLink | null }[] = [{ from: args, to: root, link: null }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { from, to, link } = item;
    const place = (key: string | number, value: unknown): void => {
      const childLink = { parent: link, key };
      let copy: unknown = value;
      if (typeof value === 'string') copy = replace(value, () => materialize(childLink));
      else if (Array.isArray(value) || isObject(value)) {
        copy = Array.isArray(value) ? new Array<unknown>(value.length) : {};
        stack.push({ from: value, to: copy as Container, link: childLink });
      }
      setOwn(to, key, copy);
    };
    if (Array.isArray(from)) from.forEach((value, index) => place(index, value));
    else for (const [key, value] of Object.entries(from)) place(key, value);
  }
  return root;
}

function setOwn(container: Container, key: string | number, value: unknown): void {
  if (Array.isArray(container)) {
    container[key as number] = value === undefined ? null : value;
    return;
  }
  if (value === undefined) return;
  // defineProperty, not assignment: an own "__proto__" key from JSON stays data instead of replacing the prototype.
  Object.defineProperty(container, key, { value, enumerable: true, writable: true, configurable: true });
}
