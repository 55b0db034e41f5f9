import fc from 'fast-check';

// The values a hostile or broken client puts where a gateway expects text, numbers and JSON: the ones that broke
// gateways before (NUL reaching PostgreSQL, unpaired surrogates reaching jsonb, numbers past 2^53, ids that are
// paths) come up regularly, random ones fill the rest.

// Odd but storable: what a gateway must take in its stride, all the way to the database and back.
const ODD_STRINGS = [
  '',
  ' ',
  '%00',
  '%',
  '%zz',
  '%c0%af',
  '../../../etc/passwd',
  '..',
  '/',
  '\\',
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  '${jndi:ldap://127.0.0.1/a}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '\r\nSet-Cookie: x=1',
  '\u202e\u0644\u0627',
  '\uffff',
  '\ufeff',
  '\u0001\u001f\u007f',
  '𝕏🙂',
  '__proto__',
  'constructor',
  'null',
  'undefined',
  'true',
  '-1',
  '1e309',
  'NaN',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  'javascript:alert(1)',
  'http://127.0.0.1:1/',
  'http://169.254.169.254/latest/meta-data/',
  'https://example.invalid/client.json',
  'file:///etc/passwd',
  'x'.repeat(5_000),
] as const;

// Text PostgreSQL cannot store: the gateway must refuse it as invalid input, wherever it is put.
const UNSTORABLE_STRINGS = ['\u0000', 'a\u0000b', '\ud800', 'x\udfffy', 'end\ud83d', '\u0000'.repeat(64)] as const;

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
const controlCharacter = fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code));

/** Any string, mostly storable (so that requests get past the edge into services and queries), sometimes not. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 10, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  { weight: 4, arbitrary: fc.constantFrom(...ODD_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 1, arbitrary: fc.constantFrom(...UNSTORABLE_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: fc.oneof(fc.string({ minLength: 1, maxLength: 1 }), loneSurrogate, controlCharacter), maxLength: 24 }) },
);

/** Numbers as JSON carries them, including those JavaScript cannot hold exactly. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -0, -1, 1, 2 ** 31, 2 ** 31 - 1, -(2 ** 31), 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, 1e21, 1e308, -1e308, 5e-324, 0.5),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** JSON values with hostile leaves, nested a little. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Text bodies that are not JSON, or not quite: truncations, bare tokens, deep nesting, JSON with raw numbers too big for a double. */
export const malformedJsonText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', '{', '[', '{"a":', '{"jsonrpc":"2.0",', 'nul', 'tru', '"\\u00', '"\\ud800"', '{"a":"\\u0000"}', '{}}', '[1,]', '{"a" 1}', "{'a':1}", 'NaN', '\ufeff{}'),
  fc.constantFrom('['.repeat(2_000), '{"a":'.repeat(2_000), '{"id":123456789012345678901234567890,"jsonrpc":"2.0","method":"ping"}'),
  fc.string({ maxLength: 60 }),
  fc.json().map((text) => text.slice(0, Math.max(0, text.length - 1))),
);
