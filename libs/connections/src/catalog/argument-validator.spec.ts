import { ArgumentValidators } from './argument-validator';
import { canonicalJson } from './canonical-json';

describe('ArgumentValidators', () => {
  const validators = new ArgumentValidators();
  const schema = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    properties: { message: { type: 'string' }, count: { type: 'integer', minimum: 1 }, when: { type: 'string', format: 'date-time' } },
    required: ['message'],
    additionalProperties: false,
  };

  it('accepts valid arguments and describes invalid ones', () => {
    const check = validators.forSchema('h1', schema);
    expect(check({ message: 'hi', count: 2, when: '2026-11-22T10:00:00Z' })).toBeNull();
    expect(check({})).toBe("arguments must have required property 'message'");
    expect(check({ message: 1, count: 0 })).toBe('message must be string; count must be >= 1');
    expect(check({ message: 'x', extra: true })).toBe('arguments: unknown property "extra"');
    expect(check({ message: 'x', when: 'yesterday' })).toBe('when must match format "date-time"');
  });

  it('compiles each schema once per hash', () => {
    expect(validators.forSchema('h2', schema)).toBe(validators.forSchema('h2', schema));
  });

  it('throws for a schema that cannot compile', () => {
    expect(() => validators.forSchema('bad', { type: 'object', properties: { a: { type: 'no-such-type' } } })).toThrow();
  });
});

describe('canonicalJson', () => {
  it('is independent of key order and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: undefined } })).toBe(
      canonicalJson({ a: { d: [1, { e: 3, f: 2 }] }, b: 1 }),
    );
  });
});
