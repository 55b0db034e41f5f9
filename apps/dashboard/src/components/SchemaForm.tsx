import { Alert, Button, Group, NumberInput, Select, Stack, Switch, Text, Textarea, TextInput } from '@mantine/core';
import { FormEvent, ReactNode, useMemo, useState } from 'react';
import { problemText } from '../api/client';

// A form generated here from a JSON Schema of type object (a tool's arguments, a workflow's inputs) rather than by a
// JSON-Schema form library: those validate in the browser with Ajv, which compiles code at run time (new Function),
// and the dashboard's Content-Security-Policy forbids that. The server validates the values against the same schema.
interface PropertySchema {
  type?: string | string[];
  description?: string;
  enum?: unknown[];
  default?: unknown;
  title?: string;
}

/** Values the form cannot turn into JSON: said before any request is made. */
class ValuesError extends Error {}

type Field = { name: string; schema: PropertySchema; required: boolean; kind: 'text' | 'number' | 'boolean' | 'choice' | 'json' };

function fieldsOf(objectSchema: unknown): Field[] {
  const schema = (objectSchema ?? {}) as { properties?: Record<string, PropertySchema>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, property]) => {
    const type = Array.isArray(property.type) ? property.type.find((candidate) => candidate !== 'null') : property.type;
    const kind: Field['kind'] = property.enum
      ? 'choice'
      : type === 'string'
        ? 'text'
        : type === 'number' || type === 'integer'
          ? 'number'
          : type === 'boolean'
            ? 'boolean'
            : 'json';
    return { name, schema: property, required: schema.required?.includes(name) ?? false, kind };
  });
}

/** Values as typed into the form → the JSON object the schema describes; a field left empty is left out. */
function valuesOf(fields: Field[], values: Record<string, unknown>): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const field of fields) {
    const value = values[field.name];
    if (value === undefined || value === '') continue;
    if (field.kind === 'json') {
      try {
        object[field.name] = JSON.parse(String(value));
      } catch {
        throw new ValuesError(`${field.name} is not valid JSON. Write it as JSON, e.g. {"key": "value"} or ["a", "b"].`);
      }
    } else if (field.kind === 'choice') {
      object[field.name] = field.schema.enum?.find((option) => String(option) === value) ?? value;
    } else object[field.name] = value;
  }
  return object;
}

interface SchemaFormProps {
  /** A JSON Schema of type object: one field per property. */
  schema: unknown;
  /** The form's accessible name. */
  label: string;
  /** What is said when the schema has no properties. */
  empty: string;
  submitLabel: string;
  pending: boolean;
  onSubmit(values: Record<string, unknown>): void;
  /** The failure of the last submission, and its alert's title. */
  error: unknown;
  errorTitle: string;
  /** Above the fields (a description). */
  intro?: ReactNode;
  /** Under the button (the result). */
  children?: ReactNode;
}

/** A form generated from a JSON Schema: text, number, switch, choice or JSON per property, submitted as one object. */
export function SchemaForm({ schema, label, empty, submitLabel, pending, onSubmit, error, errorTitle, intro, children }: SchemaFormProps) {
  const fields = useMemo(() => fieldsOf(schema), [schema]);
  const [values, setValues] = useState<Record<string, unknown>>(() =>
    Object.fromEntries(fields.filter((field) => field.schema.default !== undefined).map((field) => [field.name, field.kind === 'json' ? JSON.stringify(field.schema.default) : field.schema.default])),
  );
  const [invalid, setInvalid] = useState<ValuesError | null>(null);
  const set = (name: string) => (value: unknown) => setValues((current) => ({ ...current, [name]: value }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    try {
      const object = valuesOf(fields, values);
      setInvalid(null);
      onSubmit(object);
    } catch (failure) {
      if (!(failure instanceof ValuesError)) throw failure;
      setInvalid(failure);
    }
  };
  const failure = invalid ?? error;
  return (
    <form onSubmit={submit} aria-label={label}>
      <Stack maw={640}>
        {intro}
        {fields.length === 0 && (
          <Text size="sm" c="dimmed">
            {empty}
          </Text>
        )}
        {fields.map((field) => {
          const common = { label: field.schema.title ?? field.name, description: field.schema.description, required: field.required };
          switch (field.kind) {
            case 'text':
              return <TextInput key={field.name} {...common} value={String(values[field.name] ?? '')} onChange={(event) => set(field.name)(event.currentTarget.value)} />;
            case 'number':
              return <NumberInput key={field.name} {...common} value={values[field.name] as number | undefined} onChange={(value) => set(field.name)(value === '' ? undefined : value)} />;
            case 'boolean':
              return <Switch key={field.name} label={common.label} description={common.description} checked={values[field.name] === true} onChange={(event) => set(field.name)(event.currentTarget.checked)} />;
            case 'choice':
              return (
                <Select
                  key={field.name}
                  {...common}
                  data={(field.schema.enum ?? []).map(String)}
                  value={values[field.name] === undefined ? null : String(values[field.name])}
                  onChange={(value) => set(field.name)(value ?? undefined)}
                />
              );
            case 'json':
              return (
                <Textarea
                  key={field.name}
                  {...common}
                  description={`${field.schema.description ?? ''} (JSON)`.trim()}
                  autosize
                  minRows={2}
                  styles={{ input: { fontFamily: 'monospace' } }}
                  value={String(values[field.name] ?? '')}
                  onChange={(event) => set(field.name)(event.currentTarget.value)}
                />
              );
          }
        })}
        <Group>
          <Button type="submit" loading={pending}>
            {submitLabel}
          </Button>
        </Group>
        {failure ? (
          <Alert color="red" role="alert" title={errorTitle}>
            {failure instanceof ValuesError ? failure.message : problemText(failure)}
          </Alert>
        ) : null}
        {children}
      </Stack>
    </form>
  );
}
