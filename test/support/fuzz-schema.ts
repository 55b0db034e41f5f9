import fc from 'fast-check';
import { hostileJson, hostileNumber, hostileString } from './fuzz-values';

// Values shaped by an OpenAPI (JSON Schema) document, mostly valid so that they get past validation into the
// services and the database, with hostile leaves and the occasional wrong type, missing or extra field.

export type JsonSchema = {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
};

export type SchemaComponents = Record<string, JsonSchema>;

const MAX_DEPTH = 6;

export function schemaValue(schema: JsonSchema, components: SchemaComponents, depth = 0): fc.Arbitrary<unknown> {
  const shaped = shapedValue(schema, components, depth);
  // One value in eight ignores the schema altogether: the wrong type where a field is expected.
  return fc.oneof({ weight: 7, arbitrary: shaped }, { weight: 1, arbitrary: hostileJson });
}

function shapedValue(schema: JsonSchema, components: SchemaComponents, depth: number): fc.Arbitrary<unknown> {
  if (depth > MAX_DEPTH) return hostileJson;
  if (schema.$ref) {
    const resolved = components[schema.$ref.replace('#/components/schemas/', '')];
    return resolved ? shapedValue(resolved, components, depth + 1) : hostileJson;
  }
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives?.length) return fc.oneof(...alternatives.map((alternative) => schemaValue(alternative, components, depth + 1)));
  if (schema.allOf?.length) return schemaValue(schema.allOf[0]!, components, depth + 1);
  if (schema.enum?.length) return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...schema.enum) }, { weight: 1, arbitrary: hostileString });
  switch (schema.type) {
    case 'object':
      return objectValue(schema, components, depth);
    case 'array':
      return fc.array(schemaValue(schema.items ?? {}, components, depth + 1), { maxLength: 4 });
    case 'string':
      return stringValue(schema);
    case 'integer':
      return fc.oneof(fc.integer({ min: schema.minimum ?? -1_000, max: schema.maximum ?? 1_000_000 }), hostileNumber);
    case 'number':
      return fc.oneof(fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e9, noNaN: true }), hostileNumber);
    case 'boolean':
      return fc.boolean();
    default:
      return hostileJson;
  }
}

function objectValue(schema: JsonSchema, components: SchemaComponents, depth: number): fc.Arbitrary<unknown> {
  const properties = schema.properties ?? {};
  const model = Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, schemaValue(property, components, depth + 1)]));
  const shaped = fc.record(model, { requiredKeys: (schema.required ?? []).filter((name) => name in model) });
  const loose = fc.record(model, { requiredKeys: [] });
  const additional =
    typeof schema.additionalProperties === 'object'
      ? fc.dictionary(hostileString, schemaValue(schema.additionalProperties, components, depth + 1), { maxKeys: 3 })
      : fc.dictionary(hostileString, hostileJson, { maxKeys: 2 });
  return fc.oneof(
    { weight: 6, arbitrary: shaped },
    { weight: 2, arbitrary: loose },
    { weight: 2, arbitrary: fc.tuple(shaped, additional).map(([known, extra]) => ({ ...extra, ...known })) },
  );
}

function stringValue(schema: JsonSchema): fc.Arbitrary<string> {
  const valid = validString(schema);
  return valid ? fc.oneof({ weight: 3, arbitrary: valid }, { weight: 2, arbitrary: hostileString }) : hostileString;
}

function validString(schema: JsonSchema): fc.Arbitrary<string> | null {
  switch (schema.format) {
    case 'uuid':
      return fc.uuid();
    case 'uri':
      return fc.oneof(fc.webUrl(), fc.constantFrom('http://127.0.0.1:1/mcp', 'https://example.invalid/', 'http://[::1]/'));
    case 'email':
      return fc.emailAddress();
    case 'date':
      return fc.date({ min: new Date('1970-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((date) => date.toISOString().slice(0, 10));
    case 'date-time':
      return fc.date({ noInvalidDate: true }).map((date) => date.toISOString());
  }
  if (!schema.pattern) return null;
  try {
    return fc.stringMatching(new RegExp(schema.pattern));
  } catch {
    return null;
  }
}
