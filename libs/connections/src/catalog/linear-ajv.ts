import type { RegExpEngine } from 'ajv/dist/types';
import { fullFormats } from 'ajv-formats/dist/formats';
import { chargeMatchBudget, LinearRegExp } from '@gatehouse/config';

// Ajv runs downstream schemas' `pattern` and `patternProperties` through this engine instead of `new RegExp`: a
// downstream is untrusted, and `"pattern": "^(a+)+$"` against 40 "a"s and a "!" would otherwise hold every
// organization's event loop for minutes. Ajv passes "u"; RE2 matches code points anyway. A pattern RE2 cannot
// compile makes the schema fail to compile, and the tool is left out of the catalog.
export const linearRegExpEngine: RegExpEngine = Object.assign((pattern: string) => LinearRegExp.compile(pattern), {
  code: 'LinearRegExp.compile',
});

// JavaScript's \s (Ajv's formats are written for it); RE2's \s is ASCII only.
const NOT_SPACE = '[^\\t\\n\\x{b}\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}]';
const SCHEME_AND_USER = `(?i)^(?:https?|ftp)://(?:${NOT_SPACE}+(?::${NOT_SPACE}*)?@)?`;
const PORT_AND_PATH = `(?::\\d{2,5})?(?:/${NOT_SPACE}*)?$`;
const LABEL = '(?:[a-z0-9\\x{a1}-\\x{ffff}]+-)*[a-z0-9\\x{a1}-\\x{ffff}]+';
const PUBLIC_IPV4 = '(?:[1-9]\\d?|1\\d\\d|2[01]\\d|22[0-3])(?:\\.(?:1?\\d{1,2}|2[0-4]\\d|25[0-5])){2}\\.(?:[1-9]\\d?|1\\d\\d|2[0-4]\\d|25[0-4])';
const PRIVATE_IPV4 = '(?:(?:10|127)(?:\\.\\d{1,3}){3}|(?:169\\.254|192\\.168)(?:\\.\\d{1,3}){2}|172\\.(?:1[6-9]|2\\d|3[01])(?:\\.\\d{1,3}){2})';
const URL_GRAMMAR = LinearRegExp.compile(`${SCHEME_AND_USER}(?:${PUBLIC_IPV4}|${LABEL}(?:\\.${LABEL})*\\.[a-z\\x{a1}-\\x{ffff}]{2,})${PORT_AND_PATH}`);
const PRIVATE_URL = LinearRegExp.compile(`${SCHEME_AND_USER}${PRIVATE_IPV4}${PORT_AND_PATH}`);

/**
 * ajv-formats' `url` (Diego Perini's regex) backtracks quadratically: "http://a" and 80,000 ":" took 5 s. This is
 * the same grammar on RE2; the private addresses its lookaheads excluded are excluded by a second pattern, which is
 * stricter in one corner (a URL with one reading whose host is private is refused even if another reading's is not).
 * ajv-formats' other formats were measured linear on hostile 100 KB strings and are kept, `regex` within a budget.
 */
export function linearUrlFormat(value: string): boolean {
  return URL_GRAMMAR.test(value) && !PRIVATE_URL.test(value);
}

const compilesAsRegExp = fullFormats.regex as (value: string) => boolean;
// Measured at about 2 µs a character on dotted text: some 64 match steps.
const REGEX_FORMAT_UNITS_PER_CHARACTER = 64;

/** ajv-formats' `regex` parses the argument with `new RegExp`: linear, but slow enough to charge to the match budget. */
export function budgetedRegexFormat(value: string): boolean {
  chargeMatchBudget(value.length * REGEX_FORMAT_UNITS_PER_CHARACTER);
  return compilesAsRegExp(value);
}
