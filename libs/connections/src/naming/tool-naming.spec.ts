import { connectionOf, EXPOSED_NAME_PATTERN, exposedToolName, nameTools } from './tool-naming';

describe('exposedToolName', () => {
  it('prefixes a valid name unchanged', () => {
    expect(exposedToolName('everything', 'echo')).toBe('everything_echo');
    expect(exposedToolName('linear-prod', 'search_issues')).toBe('linear-prod_search_issues');
  });

  it('shortens long names to 64 valid characters, deterministically, keeping the prefix', () => {
    const long = `create_${'very_long_segment_'.repeat(8)}issue`;
    const name = exposedToolName('linear-prod', long);
    expect(name).toHaveLength(64);
    expect(name).toMatch(EXPOSED_NAME_PATTERN);
    expect(name.startsWith('linear-prod_create_very_long')).toBe(true);
    expect(exposedToolName('linear-prod', long)).toBe(name);
    expect(connectionOf(name)).toBe('linear-prod');
  });

  it('makes invalid characters safe and keeps distinct tools distinct', () => {
    const dotted = exposedToolName('gh', 'repos.list');
    const slashed = exposedToolName('gh', 'repos/list');
    expect(dotted).toMatch(EXPOSED_NAME_PATTERN);
    expect(slashed).toMatch(EXPOSED_NAME_PATTERN);
    expect(dotted).not.toBe(slashed);
    expect(dotted.startsWith('gh_repos_list-')).toBe(true);
  });

  it('fits the longest connection name', () => {
    const connection = 'a'.repeat(32);
    const name = exposedToolName(connection, 'x'.repeat(100));
    expect(name).toHaveLength(64);
    expect(connectionOf(name)).toBe(connection);
  });
});

describe('nameTools', () => {
  it('leaves out duplicates and colliding names, first one wins', () => {
    const shortened = exposedToolName('c', 'a.b');
    const collider = shortened.slice('c_'.length);
    const { named, rejected } = nameTools('c', [{ name: 'a.b' }, { name: 'echo' }, { name: 'echo' }, { name: collider }]);
    expect(named.map((n) => n.exposedName)).toEqual([shortened, 'c_echo']);
    expect(rejected).toEqual(['echo', collider]);
  });
});
