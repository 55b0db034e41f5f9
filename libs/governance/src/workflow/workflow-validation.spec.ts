import { workflowSpecSchema, type WorkflowSpecInput } from '@gatehouse/config';
import { ArgumentValidators } from '@gatehouse/connections';
import { validateWorkflow, WORKFLOW_ARGUMENT_MAX_DEPTH, type ToolForValidation, type WorkflowProblem } from './workflow-validation';

// The real validator the gateway uses, so that issue locations and keywords are Ajv's own.
const validators = new ArgumentValidators();

function tool(name: string, inputSchema: Record<string, unknown>): [string, ToolForValidation] {
  return [name, { inputSchema, check: validators.issuesForSchema(name, inputSchema) }];
}

const TOOLS = new Map<string, ToolForValidation>([
  tool('linear_list_issues', {
    type: 'object',
    properties: {
      team: { type: 'string' },
      limit: { type: 'integer', minimum: 1 },
      labels: { type: 'array', items: { type: 'string' }, uniqueItems: true },
      state: { enum: ['open', 'closed'] },
      filter: { type: 'object', properties: { assignee: { type: 'string' } }, required: ['assignee'], additionalProperties: false },
    },
    required: ['team'],
    additionalProperties: false,
  }),
  tool('slack_post_message', {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    properties: {
      channel: { type: 'string', pattern: '^#' },
      text: { type: 'string', minLength: 1 },
      count: { type: 'integer' },
      urgent: { type: 'boolean' },
      blocks: { type: 'array', items: { type: 'object', properties: { kind: { const: 'section' } } } },
    },
    required: ['channel', 'text'],
  }),
  tool('api_call', {
    type: 'object',
    properties: { body: { anyOf: [{ type: 'object', properties: { n: { type: 'integer' } } }, { type: 'string' }] } },
  }),
]);
const lookup = (name: string): ToolForValidation | undefined => TOOLS.get(name);

const INPUTS = {
  type: 'object',
  properties: {
    team: { type: 'string' },
    limit: { type: 'integer' },
    ratio: { type: 'number' },
    dryRun: { type: 'boolean' },
    labels: { type: 'array' },
    filter: { type: 'object' },
    owner: { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } },
    anything: {},
    nullable: { type: ['string', 'null'] },
  },
};

function validate(steps: WorkflowSpecInput['steps'], inputs: Record<string, unknown> = INPUTS): WorkflowProblem[] {
  return validateWorkflow(workflowSpecSchema.parse({ name: 'triage', inputs, steps }), lookup);
}

const messages = (problems: WorkflowProblem[]): string[] => problems.map((problem) => problem.message);

describe('validateWorkflow', () => {
  it('accepts a workflow whose steps fit their tools and use only inputs and earlier results', () => {
    expect(
      validate([
        { id: 'items', tool: 'linear_list_issues', arguments: { team: '{{ inputs.team }}', limit: '{{ inputs.limit }}', labels: '{{ inputs.labels }}' } },
        {
          id: 'post',
          tool: 'slack_post_message',
          arguments: { channel: '#triage', text: 'First: {{ steps.items.structured.issues.0.title }} ({{ steps.items.structured }})', count: '{{ steps.items.structured.count }}' },
          when: { ref: 'steps.items.isError', equals: false },
        },
      ]),
    ).toEqual([]);
  });

  describe('tools', () => {
    it('refuses a tool that is not listed, and does not check its arguments', () => {
      expect(validate([{ id: 'a', tool: 'linear_delete_everything', arguments: { limit: 'ten' } }])).toEqual([
        { path: ['steps', 0, 'tool'], message: 'step 1 ("a"), tool: no tool "linear_delete_everything" (use a tool\'s name as tools/list shows it, connection prefix included)' },
      ]);
    });

    it("refuses Gatehouse's own tools, even when the lookup knows one by that name", () => {
      const withOwn = (name: string): ToolForValidation | undefined => (name === 'gatehouse_create_workflow' ? TOOLS.get('api_call') : lookup(name));
      const spec = workflowSpecSchema.parse({ name: 'x', steps: [{ id: 'a', tool: 'gatehouse_create_workflow' }] });
      expect(validateWorkflow(spec, withOwn)).toEqual([
        {
          path: ['steps', 0, 'tool'],
          message: 'step 1 ("a"), tool: "gatehouse_create_workflow" is one of Gatehouse\'s own tools; workflows call connections\' tools, not Gatehouse\'s own',
        },
      ]);
    });
  });

  describe('references', () => {
    it('refuses a reference to a later step, or to its own, as a cycle', () => {
      const problems = validate([
        { id: 'items', tool: 'linear_list_issues', arguments: { team: '{{ steps.items.text }}' } },
        { id: 'summarise', tool: 'slack_post_message', arguments: { channel: '#a', text: 'Posted: {{ steps.post.status }}' } },
        { id: 'post', tool: 'slack_post_message', arguments: { channel: '#a', text: '{{ steps.summarise.text }}' } },
      ]);
      expect(problems).toEqual([
        {
          path: ['steps', 0, 'arguments', 'team'],
          message: 'step 1 ("items"), arguments.team: refers to its own step "items" (steps may only use earlier steps\' results; a later or its own step would be a cycle)',
        },
        {
          path: ['steps', 1, 'arguments', 'text'],
          message: 'step 2 ("summarise"), arguments.text: refers to step "post", which runs later (steps may only use earlier steps\' results; a later or its own step would be a cycle)',
        },
      ]);
    });

    it('refuses unknown steps and undeclared inputs', () => {
      expect(
        messages(
          validate([
            { id: 'a', tool: 'linear_list_issues', arguments: { team: '{{ inputs.teem }}', labels: ['{{ steps.nope.text }}'] } },
          ]),
        ),
      ).toEqual([
        'step 1 ("a"), arguments.team: refers to input "teem", which the workflow\'s inputs do not declare (it declares "team", "limit", "ratio", "dryRun", "labels", "filter", "owner", "anything", "nullable")',
        'step 1 ("a"), arguments.labels.0: refers to step "nope", which this workflow does not have',
      ]);
    });

    it('knows no inputs when the default inputs declare none, and any when they declare no properties', () => {
      const steps = [{ id: 'a', tool: 'linear_list_issues', arguments: { team: '{{ inputs.team }}' } }];
      expect(messages(validateWorkflow(workflowSpecSchema.parse({ name: 'x', steps }), lookup))).toEqual([
        'step 1 ("a"), arguments.team: refers to input "team", which the workflow\'s inputs do not declare (it declares none)',
      ]);
      expect(validate(steps, { type: 'object' })).toEqual([]);
    });

    it('refuses references that do not parse, saying why', () => {
      const problems = validate([
        {
          id: 'a',
          tool: 'slack_post_message',
          arguments: {
            channel: '#a',
            text: '{{ foo.bar }}',
            blocks: [{ kind: '{{ steps.a.output }}' }, { kind: '{{}}' }, { kind: '{{ inputs..team }}' }, { kind: '{{ steps.a.text.length }}' }],
          },
        },
      ]);
      expect(problems.map((problem) => problem.path)).toEqual([
        ['steps', 0, 'arguments', 'text'],
        ['steps', 0, 'arguments', 'blocks', 0, 'kind'],
        ['steps', 0, 'arguments', 'blocks', 1, 'kind'],
        ['steps', 0, 'arguments', 'blocks', 2, 'kind'],
        ['steps', 0, 'arguments', 'blocks', 3, 'kind'],
      ]);
      expect(messages(problems)).toEqual([
        'step 1 ("a"), arguments.text: {{ foo.bar }} is not a reference: "foo.bar" must start with "inputs." or "steps.", not "foo"',
        'step 1 ("a"), arguments.blocks.0.kind: {{ steps.a.output }} is not a reference: "steps.a.output": a step\'s result has structured, text, isError, status, not "output"',
        'step 1 ("a"), arguments.blocks.1.kind: {{}} is not a reference: the reference is empty',
        'step 1 ("a"), arguments.blocks.2.kind: {{ inputs..team }} is not a reference: "inputs..team" has an empty segment (at position 2)',
        'step 1 ("a"), arguments.blocks.3.kind: {{ steps.a.text.length }} is not a reference: "steps.a.text.length": steps.<id>.text has nothing under it',
      ]);
    });

    it('refuses hostile paths without reaching the prototype', () => {
      const long = `inputs.owner${'.x'.repeat(999)}`;
      expect(
        messages(
          validate([
            { id: 'a', tool: 'slack_post_message', arguments: { channel: '{{ inputs.__proto__ }}', text: `{{ ${long} }}`, blocks: '{{ inputs.constructor }}' } },
          ]),
        ),
      ).toEqual([
        'step 1 ("a"), arguments.channel: {{ inputs.__proto__ }} is not a reference: "inputs.__proto__" uses "__proto__", which is not allowed in a reference',
        'step 1 ("a"), arguments.blocks: {{ inputs.constructor }} is not a reference: "inputs.constructor" uses "constructor", which is not allowed in a reference',
      ]);
    });

    it('takes an unclosed "{{" as text, checked as the string it is', () => {
      expect(messages(validate([{ id: 'a', tool: 'slack_post_message', arguments: { channel: '#a', text: '{{ inputs.team', count: '{{ inputs.limit' } }]))).toEqual([
        'step 1 ("a"), arguments.count: must be integer',
      ]);
    });

    it('checks a when condition like a reference, allowing only inputs and earlier steps', () => {
      const problems = validate([
        { id: 'a', tool: 'linear_list_issues', arguments: { team: 'core' }, when: { ref: 'inputs.dryRun', equals: false } },
        { id: 'b', tool: 'linear_list_issues', arguments: { team: 'core' }, when: { ref: 'steps.b.isError', exists: true } },
        { id: 'c', tool: 'linear_list_issues', arguments: { team: 'core' }, when: { ref: 'steps.d.status', equals: 'succeeded' } },
        { id: 'd', tool: 'linear_list_issues', arguments: { team: 'core' }, when: { ref: 'inputs.nope', truthy: true } },
        { id: 'e', tool: 'linear_list_issues', arguments: { team: 'core' }, when: { ref: '{{ steps.a.text }}', truthy: true } },
        { id: 'f', tool: 'linear_list_issues', arguments: { team: 'core' }, when: { ref: 'steps.a.structured.count', notEquals: 0 } },
      ]);
      expect(problems.map((problem) => problem.path)).toEqual([
        ['steps', 1, 'when', 'ref'],
        ['steps', 2, 'when', 'ref'],
        ['steps', 3, 'when', 'ref'],
        ['steps', 4, 'when', 'ref'],
      ]);
      expect(messages(problems)).toEqual([
        expect.stringMatching(/^step 2 \("b"\), when\.ref: refers to its own step "b" \(.*cycle\)$/),
        expect.stringMatching(/^step 3 \("c"\), when\.ref: refers to step "d", which runs later/),
        expect.stringMatching(/^step 4 \("d"\), when\.ref: refers to input "nope"/),
        expect.stringMatching(/^step 5 \("e"\), when\.ref: "\{\{ steps\.a\.text \}\}" must start with "inputs\." or "steps\."/),
      ]);
    });
  });

  it('refuses inputs that are not a JSON Schema of type object', () => {
    const steps = [{ id: 'a', tool: 'linear_list_issues', arguments: { team: 'core' } }];
    expect(validate(steps, { type: 'array', items: {} })).toEqual([{ path: ['inputs', 'type'], message: 'inputs: must be a JSON Schema of type "object"' }]);
    expect(validate(steps, { properties: {} })).toEqual([{ path: ['inputs', 'type'], message: 'inputs: must be a JSON Schema of type "object"' }]);
  });

  describe('arguments against the tool\'s schema', () => {
    const check = (tool: string, args: Record<string, unknown>): string[] => messages(validate([{ id: 's', tool, arguments: args }]));

    it('reports literal values of the wrong type or out of range', () => {
      expect(check('linear_list_issues', { team: 'core', limit: 'ten' })).toEqual(['step 1 ("s"), arguments.limit: must be integer']);
      expect(check('linear_list_issues', { team: 'core', limit: 0, state: 'lost' })).toEqual([
        'step 1 ("s"), arguments.limit: must be >= 1',
        'step 1 ("s"), arguments.state: must be equal to one of the allowed values',
      ]);
    });

    it('reports missing required properties and unknown ones', () => {
      expect(check('linear_list_issues', { teem: 'core' })).toEqual([
        'step 1 ("s"), arguments: must have required property \'team\'',
        'step 1 ("s"), arguments: unknown property "teem"',
      ]);
      // An unknown key is unknown whatever its value.
      expect(check('linear_list_issues', { team: 'core', extra: '{{ inputs.team }}' })).toEqual(['step 1 ("s"), arguments: unknown property "extra"']);
    });

    it('locates issues inside arrays by index', () => {
      const problems = validate([{ id: 's', tool: 'linear_list_issues', arguments: { team: 'core', labels: ['bug', 3] } }]);
      expect(problems).toEqual([{ path: ['steps', 0, 'arguments', 'labels', 1], message: 'step 1 ("s"), arguments.labels.1: must be string' }]);
    });

    it('does not report a required property that is there as a reference, whatever it resolves to', () => {
      expect(check('slack_post_message', { channel: '{{ steps.nothing_yet.text }}', text: '{{ inputs.anything }}' })).toEqual([
        expect.stringMatching(/arguments\.channel: refers to step "nothing_yet"/),
      ]);
      expect(check('linear_list_issues', { team: '{{ inputs.team }}', filter: '{{ inputs.filter }}' })).toEqual([]);
    });

    it('reports a whole reference to an input declared with the wrong type', () => {
      expect(check('linear_list_issues', { team: 'core', limit: '{{ inputs.dryRun }}' })).toEqual(['step 1 ("s"), arguments.limit: must be integer']);
      expect(check('linear_list_issues', { team: '{{ inputs.limit }}', labels: '{{ inputs.team }}', filter: '{{ inputs.labels }}' })).toEqual([
        'step 1 ("s"), arguments.team: must be string',
        'step 1 ("s"), arguments.labels: must be array',
        'step 1 ("s"), arguments.filter: must be object',
      ]);
      expect(check('slack_post_message', { channel: '#a', text: 'x', urgent: '{{ inputs.team }}' })).toEqual(['step 1 ("s"), arguments.urgent: must be boolean']);
    });

    it('follows an input\'s declared properties to the type a deeper reference has', () => {
      expect(check('linear_list_issues', { team: '{{ inputs.owner.id }}', limit: '{{ inputs.owner.id }}' })).toEqual(['step 1 ("s"), arguments.team: must be string']);
      expect(check('linear_list_issues', { team: '{{ inputs.owner.unknown }}', limit: '{{ inputs.owner.name }}' })).toEqual([
        'step 1 ("s"), arguments.limit: must be integer',
      ]);
    });

    it('keeps only type issues for a typed reference: its value is not known, only its type', () => {
      // "" is not a valid channel (pattern) or text (minLength), nor {} a valid filter (required): the real values may be.
      expect(check('slack_post_message', { channel: '{{ inputs.team }}', text: '{{ inputs.team }}' })).toEqual([]);
      expect(check('linear_list_issues', { team: 'core', filter: '{{ inputs.filter }}', state: '{{ inputs.team }}' })).toEqual([]);
      // number where integer is required: 1.5 would fail, 2 would not.
      expect(check('linear_list_issues', { team: 'core', limit: '{{ inputs.ratio }}' })).toEqual([]);
    });

    it('reports nothing for a reference whose type is not declared', () => {
      expect(check('linear_list_issues', { team: '{{ inputs.anything }}', limit: '{{ inputs.nullable }}', filter: '{{ steps.earlier.structured }}' })).toEqual([
        expect.stringMatching(/refers to step "earlier", which this workflow does not have/),
      ]);
      expect(
        messages(
          validate([
            { id: 'a', tool: 'linear_list_issues', arguments: { team: 'core' } },
            { id: 'b', tool: 'linear_list_issues', arguments: { team: '{{ steps.a.structured.team }}', limit: '{{ steps.a.structured.count }}', filter: '{{ steps.a.structured }}' } },
          ]),
        ),
      ).toEqual([]);
    });

    it('knows the type of a step\'s text, status and isError', () => {
      expect(
        messages(
          validate([
            { id: 'a', tool: 'linear_list_issues', arguments: { team: 'core' } },
            { id: 'b', tool: 'slack_post_message', arguments: { channel: '#a', text: '{{ steps.a.text }}', count: '{{ steps.a.text }}', urgent: '{{ steps.a.isError }}' } },
            { id: 'c', tool: 'slack_post_message', arguments: { channel: '{{ steps.a.isError }}', text: '{{ steps.a.status }}' } },
          ]),
        ),
      ).toEqual(['step 2 ("b"), arguments.count: must be integer', 'step 3 ("c"), arguments.channel: must be string']);
    });

    it('reports an embedded reference where a number is required: the text makes it a string', () => {
      expect(check('linear_list_issues', { team: 'core', limit: '{{ inputs.limit }}0' })).toEqual(['step 1 ("s"), arguments.limit: must be integer']);
      expect(check('linear_list_issues', { team: 'core', limit: ' {{ inputs.limit }}' })).toEqual(['step 1 ("s"), arguments.limit: must be integer']);
      expect(check('linear_list_issues', { team: 'core', filter: '{"assignee": "{{ inputs.team }}"}' })).toEqual(['step 1 ("s"), arguments.filter: must be object']);
    });

    it('does not judge an embedded reference\'s text, only that it is text', () => {
      expect(check('slack_post_message', { channel: '{{ inputs.team }}-alerts', text: '{{ inputs.anything }}', blocks: [{ kind: '{{ inputs.team }}!' }] })).toEqual([]);
    });

    it('does not report value-dependent issues above a reference', () => {
      // Two stand-ins would look like duplicates, and anyOf would fail on a stand-in of the wrong kind.
      expect(check('linear_list_issues', { team: 'core', labels: ['{{ inputs.team }}', '{{ inputs.team }}x', '{{ steps.z.text }}'] })).toEqual([
        expect.stringMatching(/refers to step "z"/),
      ]);
      expect(check('linear_list_issues', { team: 'core', labels: ['{{ inputs.team }}', '{{ inputs.team }}'] })).toEqual([]);
      expect(check('api_call', { body: { n: '{{ inputs.anything }}' } })).toEqual([]);
      // Under an anyOf that a stand-in may fail, nothing is reported, not even the other branch's "must be string":
      // which branch was meant is not known (the second case does fail at run time; a miss, never a false alarm).
      expect(check('api_call', { body: '{{ inputs.filter }}' })).toEqual([]);
      expect(check('api_call', { body: { n: '{{ inputs.team }}' } })).toEqual([]);
      // Without references, the same keywords are reported.
      expect(check('linear_list_issues', { team: 'core', labels: ['a', 'a'] })).toEqual([
        'step 1 ("s"), arguments.labels: must NOT have duplicate items (items ## 1 and 0 are identical)',
      ]);
      expect(check('api_call', { body: { n: 'x' } })).toEqual(expect.arrayContaining(['step 1 ("s"), arguments.body: must match a schema in anyOf']));
    });

    it('keeps a type issue above a reference: an array is not an object whatever it holds', () => {
      expect(check('linear_list_issues', { team: 'core', filter: ['{{ inputs.team }}'] })).toEqual(['step 1 ("s"), arguments.filter: must be object']);
    });

    it('reports at most 20 issues a step', () => {
      const labels = Array.from({ length: 100 }, (_, i) => i);
      expect(check('linear_list_issues', { team: 'core', labels })).toHaveLength(20);
    });

    it('refuses arguments nested deeper than the limit, without walking them further', () => {
      let deep: unknown = '{{ inputs.team }}';
      for (let i = 0; i < 100_000; i += 1) deep = [deep];
      expect(validate([{ id: 's', tool: 'api_call', arguments: { body: deep } }])).toEqual([
        { path: ['steps', 0, 'arguments'], message: `step 1 ("s"), arguments: are nested deeper than ${WORKFLOW_ARGUMENT_MAX_DEPTH} levels` },
      ]);
      // "x" sits 64 keys and indexes deep (body, then 63 indexes): the limit itself is allowed, one more is not.
      let fits: unknown = 'x';
      for (let i = 0; i < WORKFLOW_ARGUMENT_MAX_DEPTH - 1; i += 1) fits = [fits];
      expect(validate([{ id: 's', tool: 'linear_list_issues', arguments: { team: 'core', labels: fits } }])).toEqual([
        { path: ['steps', 0, 'arguments', 'labels', 0], message: 'step 1 ("s"), arguments.labels.0: must be string' },
      ]);
      expect(messages(validate([{ id: 's', tool: 'linear_list_issues', arguments: { team: 'core', labels: [fits] } }]))).toEqual([
        expect.stringMatching(/arguments: are nested deeper than 64 levels$/),
      ]);
    });
  });

  it('lists problems step by step: tool, condition, references, then arguments', () => {
    const problems = validate([
      { id: 'a', tool: 'linear_list_issues', arguments: { team: '{{ inputs.x }}', limit: 'ten' }, when: { ref: 'steps.a.status', equals: 'x' } },
      { id: 'b', tool: 'nope', arguments: { x: '{{ steps.c.text }}' } },
      { id: 'c', tool: 'gatehouse_list_workflows' },
    ]);
    expect(problems.map((problem) => problem.path)).toEqual([
      ['steps', 0, 'when', 'ref'],
      ['steps', 0, 'arguments', 'team'],
      ['steps', 0, 'arguments', 'limit'],
      ['steps', 1, 'tool'],
      ['steps', 1, 'arguments', 'x'],
      ['steps', 2, 'tool'],
    ]);
  });
});
