import { isStorableText, storableText, unstorableTextAt } from './storable-text';

describe('text PostgreSQL can store', () => {
  it.each(['', 'plain', 'é ü 中文', '🙂 (a surrogate pair)', '\uffff', '\u0001\u001f'])('accepts %j', (text) => {
    expect(isStorableText(text)).toBe(true);
  });

  it.each(['\u0000', 'a\u0000b', '\ud800', 'x\udfffy', 'end\ud83d', '\ude00start'])('refuses %j', (text) => {
    expect(isStorableText(text)).toBe(false);
  });

  it('names the first place in a JSON value that holds such text, keys included', () => {
    expect(unstorableTextAt({ a: ['ok', { b: 'x\u0000' }] }, 'body')).toBe('body.a.1.b');
    expect(unstorableTextAt({ ['k\ud800']: 1 }, 'query')).toBe('query');
    expect(unstorableTextAt({ a: [1, true, null, 'fine'] }, 'body')).toBeNull();
    expect(unstorableTextAt('\u0000', 'path')).toBe('path');
  });

  it('replaces what it cannot store by U+FFFD, keeping surrogate pairs', () => {
    expect(storableText('a\u0000b\ud800c🙂\udc00')).toBe('a\ufffdb\ufffdc🙂\ufffd');
  });

  it('walks deeply nested values without running out of stack', () => {
    let deep: unknown = 'x\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(unstorableTextAt(deep, 'body')).toMatch(/^body(\.0)+$/);
  });
});
