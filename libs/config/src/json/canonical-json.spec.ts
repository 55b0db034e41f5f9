import { canonicalJson } from './canonical-json';

describe('canonicalJson', () => {
  it('sorts keys by UTF-16 code units at every depth, drops undefined members and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: [3, { d: undefined, c: 'x', B: null }], é: true, Z: 0, '': '' })).toBe(
      '{"":"","Z":0,"a":[3,{"B":null,"c":"x"}],"b":1,"é":true}',
    );
    expect(canonicalJson({ '\ud83d\ude00': 1, '\uffff': 2 })).toBe('{"\ud83d\ude00":1,"\uffff":2}');
  });

  it('sorts a large object as a small one', () => {
    const keys = Array.from({ length: 40 }, (_, i) => `k${String.fromCharCode(0x7a - (i % 26))}${i}`);
    const object = Object.fromEntries(keys.map((key) => [key, { z: 1, a: key }]));
    const sorted = [...keys].sort();
    expect(canonicalJson(object)).toBe(`{${sorted.map((key) => `"${key}":{"a":"${key}","z":1}`).join(',')}}`);
    expect(canonicalJson({ c: 1, b: 2, a: 3, B: 4, 'b\u00e9': 5 })).toBe('{"B":4,"a":3,"b":2,"b\u00e9":5,"c":1}');
  });

  it('writes what JSON.stringify writes for everything but key order', () => {
    const value = { text: 'line\n"quoted"\u2028', n: [0, -1.5e-7, 1e21], nested: { empty: {}, list: [] }, nothing: null };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
    expect(canonicalJson([undefined, 'a'])).toBe('[null,"a"]');
    expect(canonicalJson('x')).toBe('"x"');
    expect(canonicalJson(undefined)).toBe('null');
  });
});
