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

  // On a backtracking engine these take longer than jest lets a test run: the timeout is the assertion.
  it('runs pattern and patternProperties on RE2: a hostile pattern is answered at once', () => {
    const check = validators.forSchema('redos', {
      type: 'object',
      properties: { q: { type: 'string', pattern: '^(a+)+$' } },
      patternProperties: { '^(x+)+$': { type: 'number' } },
    });
    expect(check({ q: `${'a'.repeat(40)}!` })).toBe('q must match pattern "^(a+)+$"');
    expect(check({ q: 'aaaa', [`${'x'.repeat(40)}`]: 'not a number' })).toBe(`${'x'.repeat(40)} must be number`);
    expect(check({ q: 'aaaa', [`${'x'.repeat(40)}!`]: 'not matched, so unchecked' })).toBeNull();
  });

  it('throws for a pattern RE2 cannot run, saying why', () => {
    expect(() => validators.forSchema('backref', { type: 'object', properties: { q: { type: 'string', pattern: '^(a)\\1$' } } })).toThrow(
      /backreferences/,
    );
    expect(() => validators.forSchema('lookahead', { type: 'object', patternProperties: { '^(?!x)': {} } })).toThrow(/lookahead/);
  });

  it('refuses arguments that cost more to match than one call may spend', () => {
    const check = validators.forSchema('budget', { type: 'object', properties: { q: { type: 'array', items: { type: 'string', pattern: '(?s).*a.{16}$' } } } });
    expect(check({ q: ['xa'.repeat(10)] })).toBeNull();
    expect(check({ q: Array.from({ length: 200 }, () => 'ab'.repeat(1_000)) })).toBe("the arguments are too large to check against the tool's patterns and formats");
  });

  it('keeps one downstream\'s $id from clashing with another\'s', () => {
    validators.forSchema('id-1', { $id: 'https://schemas.test/args', type: 'object' });
    expect(() => validators.forSchema('id-2', { $id: 'https://schemas.test/args', type: 'object', required: ['a'] })).not.toThrow();
  });
});

describe('argument formats on hostile strings', () => {
  const validators = new ArgumentValidators();

  it('checks url in linear time, with ajv-formats\' meaning', () => {
    const check = validators.forSchema('url', { type: 'object', properties: { u: { type: 'string', format: 'url' } } });
    for (const good of ['https://example.com', 'http://user:pw@example.com:8080/a/b?c=d', 'ftp://8.8.8.8/x', 'https://bücher.example/']) {
      expect(check({ u: good })).toBeNull();
    }
    for (const bad of ['http://10.0.0.1/', 'http://192.168.1.1', 'http://172.16.0.1', 'http://localhost/', 'mailto:a@b.c', 'https://exa mple.com']) {
      expect(check({ u: bad })).toBe('u must match format "url"');
    }
    // ajv-formats' own regex is quadratic here (5 s at 80,000 characters, minutes at this length): the test timeout
    // is the assertion.
    expect(check({ u: `http://a${':'.repeat(500_000)}\u0000` })).not.toBeNull();
  });

  // 91 strings of 100 KB for each format: linear formats take milliseconds each, a quadratic one minutes (the
  // test timeout is the assertion); each string is still checked for its meaning, not skipped.
  it('answers every format on 100 KB of hostile text', () => {
    const formats = ['date', 'time', 'date-time', 'iso-time', 'iso-date-time', 'duration', 'uri', 'uri-reference', 'uri-template', 'url',
      'email', 'hostname', 'ipv4', 'ipv6', 'regex', 'uuid', 'json-pointer', 'json-pointer-uri-fragment', 'relative-json-pointer', 'byte'];
    const hostile = ['http://a', 'a:', 'a://', 'P', '#', '0', 'a@'].flatMap((prefix) =>
      [':', '/', 'a', '-', '.', '0', '%', 'a.', 'a-', '/a', '::', '~0', '@'].map((run) => `${prefix}${run.repeat(100_000 / run.length)}!`),
    );
    for (const format of formats) {
      const check = validators.forSchema(`format-${format}`, { type: 'object', properties: { s: { type: 'array', items: { type: 'string', format } } } });
      expect(typeof (check({ s: hostile }) ?? 'valid')).toBe('string');
    }
  });
});

describe('canonicalJson', () => {
  it('is independent of key order and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: undefined } })).toBe(
      canonicalJson({ a: { d: [1, { e: 3, f: 2 }] }, b: 1 }),
    );
  });
});

describe('ArgumentValidators.issuesForSchema', () => {
  const own = new ArgumentValidators();

  it('locates each issue with a dotted path and its keyword', () => {
    const issues = own.issuesForSchema('located', {
      type: 'object',
      properties: { x: {}, 'a/b': { type: 'string' }, 'c~d': { type: 'array', items: { type: 'integer' } } },
      required: ['x'],
      additionalProperties: false,
    });
    expect(issues({ 'a/b': 1, 'c~d': [1, 'two'], y: true })).toEqual([
      { path: '', keyword: 'required', message: "must have required property 'x'" },
      { path: '', keyword: 'additionalProperties', message: 'unknown property "y"' },
      { path: 'a/b', keyword: 'type', message: 'must be string' },
      { path: 'c~d.1', keyword: 'type', message: 'must be integer' },
    ]);
    expect(issues({ x: 1 })).toEqual([]);
  });

  it('shares the compiled validator with forSchema, keyed by hash', () => {
    const first = { type: 'object', required: ['a'] };
    expect(own.forSchema('shared', first)({})).toBe("arguments must have required property 'a'");
    // Same hash, so the schema already compiled answers (a hash names one definition).
    expect(own.issuesForSchema('shared', { type: 'object' })({})).toEqual([{ path: '', keyword: 'required', message: "must have required property 'a'" }]);
    expect(own.issuesForSchema('shared', first)).toBe(own.issuesForSchema('shared', first));
    own.forget('shared');
    expect(own.issuesForSchema('shared', { type: 'object' })({})).toEqual([]);
  });

  it('answers with one issue when the arguments cost more to match than a call may spend', () => {
    const issues = own.issuesForSchema('budget', { type: 'object', properties: { q: { type: 'array', items: { type: 'string', pattern: '(?s).*a.{16}$' } } } });
    expect(issues({ q: Array.from({ length: 200 }, () => 'ab'.repeat(1_000)) })).toEqual([
      { path: '', keyword: 'matchBudget', message: "the arguments are too large to check against the tool's patterns and formats" },
    ]);
  });
});
