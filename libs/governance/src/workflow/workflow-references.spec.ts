import type { WorkflowCondition } from '@gatehouse/config';
import {
  conditionHolds,
  nestedDeeperThan,
  parseReferencePath,
  referencesIn,
  resolveArguments,
  resolveReference,
  type ReferenceContext,
} from './workflow-references';

// A value nested `depth` arrays deep, built without recursion.
function deepArray(depth: number, leaf: unknown = 1): unknown {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i += 1) value = [value];
  return value;
}

const context: ReferenceContext = {
  inputs: { team: 'core', limit: 10, flag: false, tags: ['a', 'b'], owner: { name: 'Ada', id: 7 }, nothing: null, sneaky: '{{ inputs.team }}' },
  steps: {
    items: { structured: { issues: [{ id: 'I-1', title: 'first' }, { id: 'I-2' }], count: 2 }, text: 'two issues', isError: false, status: 'succeeded' },
    failed: { text: 'boom', isError: true, status: 'failed' },
  },
};

describe('referencesIn', () => {
  it('finds references anywhere in the arguments, with where they sit and whether they are the whole string', () => {
    expect(
      referencesIn({
        team: '{{ inputs.team }}',
        body: 'Team {{inputs.team}} has {{  steps.items.structured.count  }} issues',
        nested: { list: [1, '{{ steps.items.text }}', { deep: '{{ inputs.owner.name }}' }] },
        plain: 'no references',
        number: 3,
      }),
    ).toEqual([
      { path: 'inputs.team', raw: '{{ inputs.team }}', whole: true, at: ['team'] },
      { path: 'inputs.team', raw: '{{inputs.team}}', whole: false, at: ['body'] },
      { path: 'steps.items.structured.count', raw: '{{  steps.items.structured.count  }}', whole: false, at: ['body'] },
      { path: 'steps.items.text', raw: '{{ steps.items.text }}', whole: true, at: ['nested', 'list', 1] },
      { path: 'inputs.owner.name', raw: '{{ inputs.owner.name }}', whole: true, at: ['nested', 'list', 2, 'deep'] },
    ]);
    expect(referencesIn({ a: 'x', b: [1, true, null], c: {} })).toEqual([]);
  });

  it('keeps references in one string in order', () => {
    expect(referencesIn({ s: '{{ inputs.a }}{{ inputs.b }}' }).map((r) => [r.path, r.whole])).toEqual([
      ['inputs.a', false],
      ['inputs.b', false],
    ]);
  });

  it('counts text around a reference, even whitespace, as text', () => {
    expect(referencesIn({ s: ' {{ inputs.a }}' })[0]?.whole).toBe(false);
    expect(referencesIn({ s: '{{ inputs.a }}\n' })[0]?.whole).toBe(false);
  });

  it('treats "{{" without "}}" and stray braces as literal text', () => {
    expect(referencesIn({ a: '{{ inputs.team', b: 'inputs.team }}', c: '{ inputs.team }', d: '{{', e: '}}{{' })).toEqual([]);
    expect(referencesIn({ a: `{{${' '.repeat(100_000)}` })).toEqual([]);
  });

  it('takes the innermost reference from nested braces, the rest being text', () => {
    expect(referencesIn({ a: '{{ {{ inputs.team }} }}' })).toEqual([{ path: 'inputs.team', raw: '{{ inputs.team }}', whole: false, at: ['a'] }]);
    expect(referencesIn({ a: '{{{ inputs.team }}}' })).toEqual([{ path: 'inputs.team', raw: '{{ inputs.team }}', whole: false, at: ['a'] }]);
  });

  it('finds empty and odd references, for validation to refuse', () => {
    expect(referencesIn({ a: '{{}}', b: '{{   }}', c: '{{ foo }}' }).map((r) => r.path)).toEqual(['', '', 'foo']);
  });

  it('scans hostile strings in linear time', () => {
    // A backtracking pattern would take minutes here: the test timeout is the assertion.
    const hostile = '{{'.repeat(100_000) + ' '.repeat(100_000) + '{{ a'.repeat(50_000);
    expect(referencesIn({ s: hostile })).toEqual([]);
  });

  it('walks arguments nested far deeper than the call stack', () => {
    const found = referencesIn({ deep: deepArray(100_000, '{{ inputs.team }}') });
    expect(found).toHaveLength(1);
    expect(found[0]?.at).toHaveLength(100_001);
  });

  it('reads own keys only, including a "__proto__" key parsed from JSON', () => {
    const args = JSON.parse('{"__proto__": {"x": "{{ inputs.team }}"}}') as Record<string, unknown>;
    expect(referencesIn(args)).toEqual([{ path: 'inputs.team', raw: '{{ inputs.team }}', whole: true, at: ['__proto__', 'x'] }]);
    expect(referencesIn(Object.create({ inherited: '{{ inputs.team }}' }) as unknown)).toEqual([]);
  });
});

describe('parseReferencePath', () => {
  it('parses inputs and step results', () => {
    expect(parseReferencePath('inputs.team')).toEqual({ kind: 'input', name: 'team', rest: [] });
    expect(parseReferencePath(' inputs.owner.name ')).toEqual({ kind: 'input', name: 'owner', rest: ['name'] });
    expect(parseReferencePath('steps.items.structured.issues.0.id')).toEqual({ kind: 'step', stepId: 'items', field: 'structured', rest: ['issues', '0', 'id'] });
    expect(parseReferencePath('steps.items.structured')).toEqual({ kind: 'step', stepId: 'items', field: 'structured', rest: [] });
    for (const field of ['text', 'isError', 'status'] as const) {
      expect(parseReferencePath(`steps.a.${field}`)).toEqual({ kind: 'step', stepId: 'a', field, rest: [] });
    }
  });

  it('says why a path names nothing', () => {
    expect(parseReferencePath('')).toBe('the reference is empty');
    expect(parseReferencePath('   ')).toBe('the reference is empty');
    expect(parseReferencePath('foo.bar')).toMatch(/must start with "inputs\." or "steps\.", not "foo"/);
    expect(parseReferencePath('input.team')).toMatch(/not "input"/);
    expect(parseReferencePath('inputs')).toMatch(/names no input/);
    expect(parseReferencePath('steps')).toMatch(/must name a step and one of its structured, text, isError, status/);
    expect(parseReferencePath('steps.items')).toMatch(/must name a step/);
    expect(parseReferencePath('steps.items.other')).toMatch(/has structured, text, isError, status, not "other"/);
    expect(parseReferencePath('steps.items.output')).toMatch(/not "output"/);
    expect(parseReferencePath('steps.items.text.length')).toMatch(/steps\.<id>\.text has nothing under it/);
    expect(parseReferencePath('steps.items.isError.x')).toMatch(/has nothing under it/);
  });

  it('refuses empty segments', () => {
    for (const path of ['inputs..team', 'inputs.', '.inputs.team', 'steps.a..text', 'steps.a.structured.', 'inputs. .x']) {
      expect(parseReferencePath(path)).toMatch(/has an empty segment/);
    }
  });

  it('refuses prototype keys wherever they appear', () => {
    for (const path of ['inputs.__proto__', 'inputs.a.constructor', 'steps.a.structured.prototype', 'steps.__proto__.text', '__proto__', 'constructor.x']) {
      expect(parseReferencePath(path)).toMatch(/is not allowed in a reference/);
    }
  });

  it('parses very long paths', () => {
    const path = `inputs.a${'.b'.repeat(999)}`;
    expect(parseReferencePath(path)).toEqual({ kind: 'input', name: 'a', rest: Array(999).fill('b') });
  });
});

describe('resolveArguments', () => {
  it('keeps the type of a whole reference', () => {
    expect(
      resolveArguments(
        {
          team: '{{ inputs.team }}',
          limit: '{{ inputs.limit }}',
          flag: '{{inputs.flag}}',
          tags: '{{ inputs.tags }}',
          owner: '{{ inputs.owner }}',
          nothing: '{{ inputs.nothing }}',
          first: '{{ steps.items.structured.issues.0.id }}',
          issues: '{{ steps.items.structured.issues }}',
          failed: '{{ steps.failed.isError }}',
          status: '{{ steps.failed.status }}',
          text: '{{ steps.items.text }}',
        },
        context,
      ),
    ).toEqual({
      team: 'core',
      limit: 10,
      flag: false,
      tags: ['a', 'b'],
      owner: { name: 'Ada', id: 7 },
      nothing: null,
      first: 'I-1',
      issues: [{ id: 'I-1', title: 'first' }, { id: 'I-2' }],
      failed: true,
      status: 'failed',
      text: 'two issues',
    });
  });

  it('writes embedded references into the text, objects as JSON', () => {
    expect(
      resolveArguments(
        {
          title: 'Team {{ inputs.team }}: {{ inputs.limit }} max, flag {{ inputs.flag }}, owner {{ inputs.owner }}',
          list: 'tags={{ inputs.tags }} none={{ inputs.nothing }} error={{ steps.failed.isError }}',
        },
        context,
      ),
    ).toEqual({
      title: 'Team core: 10 max, flag false, owner {"name":"Ada","id":7}',
      list: 'tags=["a","b"] none=null error=true',
    });
  });

  it('leaves out a whole reference to nothing, writes null for it in an array, and the empty string in text', () => {
    expect(
      resolveArguments(
        {
          gone: '{{ inputs.missing }}',
          notRun: '{{ steps.skipped.text }}',
          noStructured: '{{ steps.failed.structured }}',
          beyond: '{{ steps.items.structured.issues.5.id }}',
          list: ['{{ inputs.missing }}', '{{ inputs.team }}'],
          text: '[{{ inputs.missing }}][{{ steps.skipped.status }}]',
        },
        context,
      ),
    ).toEqual({ list: [null, 'core'], text: '[][]' });
    expect(Object.keys(resolveArguments({ gone: '{{ inputs.missing }}' }, context))).toEqual([]);
  });

  it('resolves a reference that does not parse to nothing rather than throwing', () => {
    const resolved = resolveArguments({ a: '{{ foo }}', b: 'x{{ steps.items.other }}y', c: '{{}}', d: '{{ inputs..team }}' }, context);
    expect(Object.keys(resolved)).toEqual(['b']);
    expect(resolved['b']).toBe('xy');
  });

  it('indexes arrays only by canonical numbers', () => {
    const resolve = (path: string): unknown => resolveReference(path, context);
    expect(resolve('steps.items.structured.issues.1.id')).toBe('I-2');
    expect(resolve('steps.items.structured.issues.01.id')).toBeUndefined();
    expect(resolve('steps.items.structured.issues.-1')).toBeUndefined();
    expect(resolve('steps.items.structured.issues.1e0')).toBeUndefined();
    expect(resolve('steps.items.structured.issues.length')).toBeUndefined();
    expect(resolve('inputs.tags.length')).toBeUndefined();
    expect(resolve('inputs.team.length')).toBeUndefined();
    expect(resolve('inputs.team.0')).toBeUndefined();
    expect(resolve('inputs.limit.x')).toBeUndefined();
    expect(resolve('inputs.nothing.x')).toBeUndefined();
  });

  it('reads own properties only: prototype keys and inherited members resolve to nothing', () => {
    const hostile: ReferenceContext = {
      inputs: JSON.parse('{"__proto__": {"polluted": true}, "obj": {"constructor": {"prototype": 1}}}') as Record<string, unknown>,
      steps: { a: { structured: JSON.parse('{"__proto__": "x", "hasOwnProperty": 1}') as unknown, text: '', isError: false, status: 'succeeded' } },
    };
    const resolve = (path: string): unknown => resolveReference(path, hostile);
    expect(resolve('inputs.__proto__')).toBeUndefined();
    expect(resolve('inputs.__proto__.polluted')).toBeUndefined();
    expect(resolve('inputs.obj.constructor')).toBeUndefined();
    expect(resolve('inputs.obj.constructor.prototype')).toBeUndefined();
    expect(resolve('inputs.toString')).toBeUndefined();
    expect(resolve('inputs.hasOwnProperty')).toBeUndefined();
    expect(resolve('steps.a.structured.__proto__')).toBeUndefined();
    expect(resolve('steps.a.structured.hasOwnProperty')).toBe(1);
    expect(resolve('steps.toString.text')).toBeUndefined();
    expect(resolve('steps.constructor.text')).toBeUndefined();
    expect(resolveArguments({ x: '{{ inputs.__proto__ }}', y: 'a{{ inputs.constructor }}b' }, hostile)).toEqual({ y: 'ab' });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('copies a "__proto__" key of the arguments as data, without touching the result\'s prototype', () => {
    const args = JSON.parse('{"__proto__": {"team": "{{ inputs.team }}"}, "list": [{"__proto__": 1}]}') as Record<string, unknown>;
    const resolved = resolveArguments(args, context);
    expect(Object.getPrototypeOf(resolved)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(resolved, '__proto__')?.value).toEqual({ team: 'core' });
    expect(JSON.stringify(resolved)).toBe('{"__proto__":{"team":"core"},"list":[{"__proto__":1}]}');
  });

  it('resolves in one pass: a value that looks like a reference stays text', () => {
    expect(resolveArguments({ whole: '{{ inputs.sneaky }}', embedded: 'say {{ inputs.sneaky }}' }, context)).toEqual({
      whole: '{{ inputs.team }}',
      embedded: 'say {{ inputs.team }}',
    });
  });

  it('leaves the arguments untouched and copies their structure', () => {
    const args = { a: { b: ['{{ inputs.team }}', 2, true, null] }, c: 'plain' };
    const snapshot = JSON.stringify(args);
    const resolved = resolveArguments(args, context);
    expect(resolved).toEqual({ a: { b: ['core', 2, true, null] }, c: 'plain' });
    expect(JSON.stringify(args)).toBe(snapshot);
    expect(resolved['a']).not.toBe(args.a);
  });

  it('follows a 1000-segment path', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 999; i += 1) deep = { b: deep };
    const deepContext: ReferenceContext = { inputs: { a: deep }, steps: {} };
    expect(resolveArguments({ x: `{{ inputs.a${'.b'.repeat(999)} }}`, y: `{{ inputs.a${'.b'.repeat(1000)} }}` }, deepContext)).toEqual({ x: 'bottom' });
  });

  it('does not throw on arguments or values deeper than the call stack', () => {
    const deepArgs = { deep: deepArray(100_000, '{{ inputs.team }}') };
    const resolved = resolveArguments(deepArgs, context);
    expect(nestedDeeperThan(resolved, 100_000)).toBe(true);
    // Too deep to write as JSON: written as nothing instead of throwing.
    const deepValue: ReferenceContext = { inputs: { v: deepArray(200_000) }, steps: {} };
    const written = resolveArguments({ text: 'v={{ inputs.v }}', whole: '{{ inputs.v }}' }, deepValue);
    expect(written['text']).toBe('v=');
    expect(written['whole']).toBe(deepValue.inputs['v']);
  });
});

describe('conditionHolds', () => {
  const holds = (condition: WorkflowCondition, on: ReferenceContext = context): boolean => conditionHolds(condition, on);

  it('compares equals and notEquals as JSON, whatever the key order', () => {
    expect(holds({ ref: 'inputs.owner', equals: { id: 7, name: 'Ada' } })).toBe(true);
    expect(holds({ ref: 'inputs.owner', equals: { id: 7 } })).toBe(false);
    expect(holds({ ref: 'inputs.tags', equals: ['a', 'b'] })).toBe(true);
    expect(holds({ ref: 'inputs.tags', equals: ['b', 'a'] })).toBe(false);
    expect(holds({ ref: 'inputs.limit', equals: 10 })).toBe(true);
    expect(holds({ ref: 'inputs.limit', equals: '10' })).toBe(false);
    expect(holds({ ref: 'steps.failed.status', equals: 'failed' })).toBe(true);
    expect(holds({ ref: 'steps.failed.status', notEquals: 'failed' })).toBe(false);
    expect(holds({ ref: 'steps.items.structured.count', notEquals: 3 })).toBe(true);
  });

  it('tells null from absent', () => {
    expect(holds({ ref: 'inputs.nothing', equals: null })).toBe(true);
    expect(holds({ ref: 'inputs.missing', equals: null })).toBe(false);
    expect(holds({ ref: 'inputs.missing', notEquals: null })).toBe(true);
    expect(holds({ ref: 'inputs.nothing', exists: true })).toBe(true);
    expect(holds({ ref: 'inputs.missing', exists: true })).toBe(false);
    expect(holds({ ref: 'inputs.missing', exists: false })).toBe(true);
    expect(holds({ ref: 'steps.skipped.status', exists: false })).toBe(true);
  });

  it('counts empty arrays and objects as falsy', () => {
    const values: ReferenceContext = { inputs: { e: [], o: {}, z: 0, s: '', n: null, a: [0], b: { x: null }, t: 'x', f: false }, steps: {} };
    const truthy = (name: string): boolean => conditionHolds({ ref: `inputs.${name}`, truthy: true }, values);
    expect(['e', 'o', 'z', 's', 'n', 'f', 'missing'].map(truthy)).toEqual(Array(7).fill(false));
    expect(['a', 'b', 't'].map(truthy)).toEqual([true, true, true]);
    expect(conditionHolds({ ref: 'inputs.e', truthy: false }, values)).toBe(true);
    expect(conditionHolds({ ref: 'inputs.t', truthy: false }, values)).toBe(false);
  });

  it('finds nothing at a ref that does not parse or reaches for the prototype', () => {
    expect(holds({ ref: 'nonsense', exists: true })).toBe(false);
    expect(holds({ ref: 'inputs.__proto__', exists: true })).toBe(false);
    expect(holds({ ref: 'inputs.toString', exists: true })).toBe(false);
    expect(holds({ ref: ' inputs.team ', equals: 'core' })).toBe(true);
  });

  it('does not throw on values deeper than the call stack', () => {
    const deep: ReferenceContext = { inputs: { v: deepArray(200_000) }, steps: {} };
    expect(conditionHolds({ ref: 'inputs.v', equals: [[1]] }, deep)).toBe(false);
    expect(conditionHolds({ ref: 'inputs.v', notEquals: deepArray(200_000) }, deep)).toBe(true);
    expect(conditionHolds({ ref: 'inputs.v', truthy: true }, deep)).toBe(true);
    // Within the compared depth, deep values compare as usual.
    expect(conditionHolds({ ref: 'inputs.v', equals: deepArray(100) }, { inputs: { v: deepArray(100) }, steps: {} })).toBe(true);
  });

  it('does not run a step whose condition has no test', () => {
    expect(holds({ ref: 'inputs.team' })).toBe(false);
  });
});

describe('nestedDeeperThan', () => {
  it('counts keys and indexes below the value', () => {
    expect(nestedDeeperThan(1, 0)).toBe(false);
    expect(nestedDeeperThan({}, 0)).toBe(false);
    expect(nestedDeeperThan({ a: 1 }, 0)).toBe(true);
    expect(nestedDeeperThan({ a: [1] }, 1)).toBe(true);
    expect(nestedDeeperThan({ a: [1] }, 2)).toBe(false);
  });
});
