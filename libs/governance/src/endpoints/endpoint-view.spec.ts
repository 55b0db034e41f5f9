import type { ToolClassName } from '@gatehouse/config';
import { SelectableTool, selectionView, SelectionContext, WHOLE_ORGANIZATION } from './endpoint-view';

const TAGS: Record<string, string[]> = { github: ['code', 'prod'], linear: ['prod'], notes: [] };
const context: SelectionContext = {
  // As CompiledPolicy.classify: readOnlyHint → read, else write (+ destructive).
  classify: (tool) => new Set<ToolClassName>(tool.annotations?.readOnlyHint ? ['read'] : tool.annotations?.destructiveHint ? ['write', 'destructive'] : ['write']),
  tagsOf: (connection) => TAGS[connection] ?? [],
  canonicalOf: (connection, downstream) => (downstream === 'missing' ? null : `${connection}_${downstream}`),
};
const tool = (connection: string, name: string, annotations: SelectableTool['annotations'] = {}): SelectableTool => ({ connection, tool: `${connection}_${name}`, annotations });
const builtIn = (name: string, readOnlyHint = true): SelectableTool => ({ connection: 'gatehouse', tool: name, annotations: { readOnlyHint }, builtIn: true });
const view = (selection: object, unprefixed = false) => selectionView({ name: 'door', selection, unprefixed }, context);

describe('selectionView', () => {
  it('selects connections by name or tag, all of them when neither is given', () => {
    expect(view({ connections: ['notes'] }).includesTool(tool('notes', 'add'))).toBe(true);
    expect(view({ connections: ['notes'] }).includesTool(tool('github', 'add'))).toBe(false);
    expect(view({ tags: ['code'] }).includesTool(tool('github', 'add'))).toBe(true);
    expect(view({ tags: ['code'] }).includesTool(tool('linear', 'add'))).toBe(false);
    expect(view({ connections: ['notes'], tags: ['code'] }).includesConnection('github')).toBe(true);
    expect(view({}).includesTool(tool('linear', 'add'))).toBe(true);
  });

  it('keeps the tools that match a glob (on the canonical name) and have one of the classes', () => {
    const globbed = view({ tools: ['github_get_*', 'linear_list'] });
    expect(globbed.includesTool(tool('github', 'get_issue'))).toBe(true);
    expect(globbed.includesTool(tool('github', 'create_issue'))).toBe(false);
    expect(globbed.includesTool(tool('linear', 'list'))).toBe(true);
    const readOnly = view({ tags: ['prod'], classes: ['read'] });
    expect(readOnly.includesTool(tool('linear', 'list', { readOnlyHint: true }))).toBe(true);
    expect(readOnly.includesTool(tool('linear', 'delete', { destructiveHint: true }))).toBe(false);
    expect(view({ classes: ['destructive'] }).includesTool(tool('linear', 'delete', { destructiveHint: true }))).toBe(true);
  });

  it("serves Gatehouse's own tools only when a gatehouse_ glob names them, never unprefixed", () => {
    expect(view({}).includesTool(builtIn('gatehouse_list_connections'))).toBe(false);
    expect(view({ tools: ['*'] }).includesTool(builtIn('gatehouse_list_connections'))).toBe(false);
    expect(view({ tools: ['gatehouse_list_*'] }).includesTool(builtIn('gatehouse_list_connections'))).toBe(true);
    expect(view({ tools: ['gatehouse_*'], classes: ['read'] }).includesTool(builtIn('gatehouse_create_connection', false))).toBe(false);
    expect(view({ connections: ['notes'], tools: ['gatehouse_*'] }, true).includesTool(builtIn('gatehouse_list_connections'))).toBe(false);
  });

  it('maps names both ways when unprefixed, and not otherwise', () => {
    const unprefixed = view({ connections: ['notes'] }, true);
    expect(unprefixed.exposedName({ canonical: 'notes_add', downstreamName: 'add' })).toBe('add');
    expect(unprefixed.canonicalName('add')).toBe('notes_add');
    expect(unprefixed.canonicalName('missing')).toBeNull();
    const prefixed = view({ connections: ['notes'] });
    expect(prefixed.exposedName({ canonical: 'notes_add', downstreamName: 'add' })).toBe('notes_add');
    expect(prefixed.canonicalName('notes_add')).toBe('notes_add');
    expect(WHOLE_ORGANIZATION.includesTool(builtIn('gatehouse_create_connection', false))).toBe(true);
  });
});
