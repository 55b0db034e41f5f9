import { inputSchemaLimitProblem, MAX_INPUT_SCHEMA_BYTES, MAX_INPUT_SCHEMA_DEPTH } from './catalog-limits';

function nested(levels: number): Record<string, unknown> {
  let schema: Record<string, unknown> = { type: 'string' };
  // Each level adds two objects: the schema and its `properties`.
  for (let i = 1; i < levels / 2; i++) schema = { type: 'object', properties: { a: schema } };
  return schema;
}

describe('inputSchemaLimitProblem', () => {
  it('accepts ordinary schemas', () => {
    expect(inputSchemaLimitProblem({ type: 'object', properties: { text: { type: 'string' } }, required: ['text'] })).toBeNull();
    expect(inputSchemaLimitProblem(nested(MAX_INPUT_SCHEMA_DEPTH))).toBeNull();
  });

  it('names the limit a schema is over', () => {
    expect(inputSchemaLimitProblem(nested(MAX_INPUT_SCHEMA_DEPTH + 2))).toBe(`its input schema nests deeper than the limit of ${MAX_INPUT_SCHEMA_DEPTH} levels`);
    const large = { type: 'object', description: 'x'.repeat(MAX_INPUT_SCHEMA_BYTES) };
    expect(inputSchemaLimitProblem(large)).toMatch(new RegExp(`^its input schema is \\d+ bytes, over the limit of ${MAX_INPUT_SCHEMA_BYTES}$`));
  });

  it('measures depth without recursing through a schema nested far beyond the limit', () => {
    expect(inputSchemaLimitProblem(nested(100_000))).toMatch(/nests deeper/);
  });
});
