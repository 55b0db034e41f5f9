import Ajv2020, { ErrorObject, ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { MatchBudgetExceeded, withMatchBudget } from '@gatehouse/config';
import { budgetedRegexFormat, linearRegExpEngine, linearUrlFormat } from './linear-ajv';

export interface ArgumentCheck {
  (args: Record<string, unknown>): string | null;
}

/** One way the arguments break the schema: where (dotted, '' for the whole arguments), which keyword, and what. */
export interface ArgumentIssue {
  path: string;
  keyword: string;
  message: string;
}

export interface ArgumentIssues {
  (args: Record<string, unknown>): ArgumentIssue[];
}

const TOO_LARGE = "the arguments are too large to check against the tool's patterns and formats";

// An instance path is a JSON Pointer: "/a~1b/0" is the key "a/b", then index 0.
function dotted(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

function issues(errors: ErrorObject[] | null | undefined): ArgumentIssue[] {
  return (errors ?? []).map((error) => ({
    path: dotted(error.instancePath),
    keyword: error.keyword,
    message:
      error.keyword === 'additionalProperties'
        ? `unknown property "${String(error.params['additionalProperty'])}"`
        : (error.message ?? 'is invalid'),
  }));
}

function describe(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 5)
    .map((error) => {
      const at = error.instancePath ? error.instancePath.slice(1).replace(/\//g, '.') : 'arguments';
      if (error.keyword === 'additionalProperties') {
        return `${at}: unknown property "${String(error.params['additionalProperty'])}"`;
      }
      return `${at} ${error.message ?? 'is invalid'}`;
    })
    .join('; ');
}

// Compiles each distinct input schema once (keyed by the tool definition's hash) and reuses it on every
// call; compiling is far costlier than validating. Patterns run on RE2 (linear-ajv.ts), within one match budget
// per call. addUsedSchema: false, because this Ajv serves every organization: a schema's `$id` must not clash
// with, or be `$ref`erenced by, another downstream's.
export class ArgumentValidators {
  private readonly ajv = new Ajv2020({
    strict: false,
    allErrors: true,
    validateFormats: true,
    addUsedSchema: false,
    code: { regExp: linearRegExpEngine },
  });
  // Both views of one compiled validator, made together so that either reuses the compilation.
  private readonly cache = new Map<string, { check: ArgumentCheck; issues: ArgumentIssues }>();

  constructor() {
    addFormats(this.ajv);
    this.ajv.addFormat('url', linearUrlFormat);
    this.ajv.addFormat('regex', budgetedRegexFormat);
  }

  /** Throws when the schema itself cannot be compiled. */
  forSchema(hash: string, schema: Record<string, unknown>): ArgumentCheck {
    return this.compiled(hash, schema).check;
  }

  /** The same validator, answering with each issue located, for checks that must tell issues apart. */
  issuesForSchema(hash: string, schema: Record<string, unknown>): ArgumentIssues {
    return this.compiled(hash, schema).issues;
  }

  private compiled(hash: string, schema: Record<string, unknown>): { check: ArgumentCheck; issues: ArgumentIssues } {
    const cached = this.cache.get(hash);
    if (cached) return cached;
    // Servers declare draft-07 or 2020-12; the keywords tools use are the same in both.
    const { $schema: _ignored, ...body } = schema;
    const validate: ValidateFunction = this.ajv.compile(body);
    const check: ArgumentCheck = (args) => {
      try {
        return withMatchBudget(() => (validate(args) ? null : describe(validate.errors)));
      } catch (error) {
        if (error instanceof MatchBudgetExceeded) return TOO_LARGE;
        throw error;
      }
    };
    const located: ArgumentIssues = (args) => {
      try {
        return withMatchBudget(() => (validate(args) ? [] : issues(validate.errors)));
      } catch (error) {
        if (error instanceof MatchBudgetExceeded) return [{ path: '', keyword: 'matchBudget', message: TOO_LARGE }];
        throw error;
      }
    };
    const entry = { check, issues: located };
    this.cache.set(hash, entry);
    return entry;
  }

  forget(hash: string): void {
    this.cache.delete(hash);
  }
}
