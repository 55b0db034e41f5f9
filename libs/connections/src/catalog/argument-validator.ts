import Ajv2020, { ErrorObject, ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { MatchBudgetExceeded, withMatchBudget } from '@gatehouse/config';
import { budgetedRegexFormat, linearRegExpEngine, linearUrlFormat } from './linear-ajv';

export interface ArgumentCheck {
  (args: Record<string, unknown>): string | null;
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
  private readonly cache = new Map<string, ArgumentCheck>();

  constructor() {
    addFormats(this.ajv);
    this.ajv.addFormat('url', linearUrlFormat);
    this.ajv.addFormat('regex', budgetedRegexFormat);
  }

  /** Throws when the schema itself cannot be compiled. */
  forSchema(hash: string, schema: Record<string, unknown>): ArgumentCheck {
    const cached = this.cache.get(hash);
    if (cached) return cached;
    // Servers declare draft-07 or 2020-12; the keywords tools use are the same in both.
    const { $schema: _ignored, ...body } = schema;
    const validate: ValidateFunction = this.ajv.compile(body);
    const check: ArgumentCheck = (args) => {
      try {
        return withMatchBudget(() => (validate(args) ? null : describe(validate.errors)));
      } catch (error) {
        if (error instanceof MatchBudgetExceeded) return "the arguments are too large to check against the tool's patterns and formats";
        throw error;
      }
    };
    this.cache.set(hash, check);
    return check;
  }

  forget(hash: string): void {
    this.cache.delete(hash);
  }
}
