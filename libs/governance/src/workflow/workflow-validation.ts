import type { WorkflowSpec, WorkflowStep } from '@gatehouse/config';
import type { ArgumentIssue } from '@gatehouse/connections';
import {
  type JsonPath,
  mapStrings,
  nestedDeeperThan,
  parseReferencePath,
  referencesIn,
  referencesInText,
  type WorkflowReference,
} from './workflow-references';

// What can be known wrong with a workflow before it runs: tools it cannot call, references that name nothing or
// a step that has not run yet, and arguments that break the tool's input schema whatever the references turn out
// to be. The tool's schema check is injected (Ajv lives in the connections lib).

export interface ToolForValidation {
  inputSchema: Record<string, unknown>;
  check: (args: Record<string, unknown>) => ArgumentIssue[];
}

export interface WorkflowProblem {
  path: JsonPath;
  message: string;
}

export type ToolLookup = (name: string) => ToolForValidation | undefined;

const OWN_TOOL_PREFIX = 'gatehouse_';
const CYCLE = "steps may only use earlier steps' results; a later or its own step would be a cycle";
// Deeper arguments are refused rather than walked: no tool's arguments need it, and paths cost their depth.
export const WORKFLOW_ARGUMENT_MAX_DEPTH = 64;
// Enough to act on; a large array of wrong items would otherwise repeat one message hundreds of times.
const MAX_ISSUES_PER_STEP = 20;

interface StepContext {
  index: number;
  step: WorkflowStep;
  stepIndex: ReadonlyMap<string, number>;
  declaredInputs: ReadonlySet<string> | undefined;
  inputs: Record<string, unknown>;
}

export function validateWorkflow(spec: WorkflowSpec, tools: ToolLookup): WorkflowProblem[] {
  const problems: WorkflowProblem[] = [];
  if (spec.inputs['type'] !== 'object') problems.push({ path: ['inputs', 'type'], message: 'inputs: must be a JSON Schema of type "object"' });
  const stepIndex = new Map<string, number>();
  // The first of two steps with one id counts; the schema reports the second.
  spec.steps.forEach((step, index) => stepIndex.has(step.id) || stepIndex.set(step.id, index));
  const declaredInputs = declaredInputNames(spec.inputs);
  spec.steps.forEach((step, index) => {
    problems.push(...stepProblems({ index, step, stepIndex, declaredInputs, inputs: spec.inputs }, tools));
  });
  return problems;
}

function stepProblems(context: StepContext, tools: ToolLookup): WorkflowProblem[] {
  const { step, index } = context;
  const problems: WorkflowProblem[] = [];
  const tool = toolProblem(context, tools);
  if (typeof tool === 'string') problems.push({ path: ['steps', index, 'tool'], message: `${label(context)}, tool: ${tool}` });
  if (step.when) {
    const wrong = referenceProblem(context, step.when.ref);
    if (wrong) problems.push({ path: ['steps', index, 'when', 'ref'], message: `${label(context)}, when.ref: ${wrong}` });
  }
  if (nestedDeeperThan(step.arguments, WORKFLOW_ARGUMENT_MAX_DEPTH)) {
    problems.push({ path: ['steps', index, 'arguments'], message: `${label(context)}, arguments: are nested deeper than ${WORKFLOW_ARGUMENT_MAX_DEPTH} levels` });
    return problems;
  }
  for (const reference of referencesIn(step.arguments)) {
    const wrong = referenceProblem(context, reference.path, reference.raw);
    if (wrong) problems.push({ path: ['steps', index, 'arguments', ...reference.at], message: `${label(context)}, ${field(reference.at)}: ${wrong}` });
  }
  if (typeof tool !== 'string') problems.push(...argumentProblems(context, tool));
  return problems;
}

// 1-based in messages, as people count steps; 0-based in `path`, as code indexes them.
function label({ index, step }: StepContext): string {
  return `step ${index + 1} ("${step.id}")`;
}

function field(at: JsonPath): string {
  return ['arguments', ...at].join('.');
}

function toolProblem({ step }: StepContext, tools: ToolLookup): ToolForValidation | string {
  if (step.tool.startsWith(OWN_TOOL_PREFIX)) return `"${step.tool}" is one of Gatehouse's own tools; workflows call connections' tools, not Gatehouse's own`;
  return tools(step.tool) ?? `no tool "${step.tool}" (use a tool's name as tools/list shows it, connection prefix included)`;
}

function declaredInputNames(inputs: Record<string, unknown>): ReadonlySet<string> | undefined {
  const properties = inputs['properties'];
  return isObject(properties) ? new Set(Object.keys(properties)) : undefined;
}

/** Why a reference (or a `when` ref) cannot work at this step, or undefined when it can. */
function referenceProblem(context: StepContext, path: string, raw?: string): string | undefined {
  const reference = parseReferencePath(path);
  if (typeof reference === 'string') return `${raw ? `${raw} is not a reference: ` : ''}${reference}`;
  if (reference.kind === 'input') {
    const declared = context.declaredInputs;
    if (!declared || declared.has(reference.name)) return undefined;
    const names = declared.size > 0 ? `it declares ${[...declared].map((name) => `"${name}"`).join(', ')}` : 'it declares none';
    return `refers to input "${reference.name}", which the workflow's inputs do not declare (${names})`;
  }
  const target = context.stepIndex.get(reference.stepId);
  if (target === undefined) return `refers to step "${reference.stepId}", which this workflow does not have`;
  if (target === context.index) return `refers to its own step "${reference.stepId}" (${CYCLE})`;
  if (target > context.index) return `refers to step "${reference.stepId}", which runs later (${CYCLE})`;
  return undefined;
}

// --- Arguments against the tool's schema -------------------------------------------------------------------------

// Where a reference stands in for a value and which issues there can be known before the run: all of them are
// dropped unless the value's JSON type is known (then `type` issues are kept).
interface Stand {
  at: string;
  keepType: boolean;
}

// Issues at an object or array holding a stand-in that do not depend on the stand-in's value (only on which keys
// or how many items there are). Others (enum, const, uniqueItems, anyOf, oneOf, not, if, contains…) might.
const VALUE_BLIND_KEYWORDS = new Set([
  'type', 'required', 'additionalProperties', 'propertyNames', 'minProperties', 'maxProperties', 'dependentRequired',
  'minItems', 'maxItems', 'items', 'additionalItems', 'matchBudget',
]);

function argumentProblems(context: StepContext, tool: ToolForValidation): WorkflowProblem[] {
  const stands: Stand[] = [];
  const stood = mapStrings(context.step.arguments, (text, at) => {
    const found = referencesInText(text);
    if (found.length === 0) return text;
    const position = at().join('.');
    // Inside other text a reference leaves a string, whatever it names.
    if (!found[0]!.whole) {
      stands.push({ at: position, keepType: true });
      return text;
    }
    const known = representative(knownType(context, found[0]!.path));
    stands.push({ at: position, keepType: known !== UNKNOWN });
    // Any JSON value: whatever is found here is dropped, and it keeps a required property present.
    return known === UNKNOWN ? null : known;
  });
  const issues = tool.check(stood);
  const shadows = issues.filter((issue) => COMPOSITE_KEYWORDS.has(issue.keyword) && stands.some(({ at }) => atOrAbove(issue.path, at))).map((issue) => issue.path);
  return issues
    .filter((issue) => knowable(issue, stands) && !shadows.some((shadow) => atOrAbove(shadow, issue.path)))
    .slice(0, MAX_ISSUES_PER_STEP)
    .map((issue) => {
      const at = issue.path === '' ? [] : issue.path.split('.').map((segment) => (/^(0|[1-9][0-9]*)$/.test(segment) ? Number(segment) : segment));
      return { path: ['steps', context.index, 'arguments', ...at], message: `${label(context)}, ${field(at)}: ${issue.message}` };
    });
}

// Keywords that try subschemas on the same value: when one fails at or above a stand-in, the stand-in may be why,
// and the errors Ajv reports from inside its subschemas (each branch of an anyOf…) may be too.
const COMPOSITE_KEYWORDS = new Set(['anyOf', 'oneOf', 'not', 'if', 'contains', 'dependentSchemas', 'dependencies', 'discriminator']);

function knowable(issue: ArgumentIssue, stands: Stand[]): boolean {
  return stands.every(({ at, keepType }) => {
    if (issue.path === at) return keepType && issue.keyword === 'type';
    if (atOrAbove(at, issue.path)) return false;
    return !atOrAbove(issue.path, at) || VALUE_BLIND_KEYWORDS.has(issue.keyword);
  });
}

// Dotted paths compare ambiguously when a key holds a "."; the cost is an issue dropped or kept near such a key.
function atOrAbove(upper: string, lower: string): boolean {
  return upper === lower || upper === '' || lower.startsWith(`${upper}.`);
}

const UNKNOWN = Symbol('unknown');

function representative(type: string | undefined): unknown {
  switch (type) {
    case 'string':
      return '';
    case 'number':
    case 'integer':
      return 0;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'object':
      return {};
    case 'null':
      return null;
    default:
      return UNKNOWN;
  }
}

/** The JSON type a whole reference will have, when the workflow says so: a declared input's type, or a result field's. */
function knownType(context: StepContext, path: string): string | undefined {
  const reference = parseReferencePath(path);
  if (typeof reference === 'string') return undefined;
  if (reference.kind === 'step') return stepFieldType(reference);
  let schema: unknown = isObject(context.inputs['properties']) ? ownValue(context.inputs['properties'], reference.name) : undefined;
  for (const segment of reference.rest) schema = childSchema(schema, segment);
  return isObject(schema) && typeof schema['type'] === 'string' ? schema['type'] : undefined;
}

function stepFieldType(reference: Extract<WorkflowReference, { kind: 'step' }>): string | undefined {
  if (reference.field === 'text' || reference.field === 'status') return 'string';
  if (reference.field === 'isError') return 'boolean';
  return undefined;
}

// Follows an input's schema down a reference: properties of an object, items of an array. Anything else unknown.
function childSchema(schema: unknown, segment: string): unknown {
  if (!isObject(schema)) return undefined;
  if (schema['type'] === 'object' && isObject(schema['properties'])) return ownValue(schema['properties'], segment);
  if (schema['type'] === 'array' && /^(0|[1-9][0-9]*)$/.test(segment) && isObject(schema['items'])) return schema['items'];
  return undefined;
}

function ownValue(container: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(container, key) ? container[key] : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
