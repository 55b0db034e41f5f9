import { Alert, Code, Text } from '@mantine/core';
import type { Connection } from '../api/client';

// JSON strings and arrays are YAML too, so every value is written as JSON: no quoting rules to get wrong.
const scalar = (value: unknown) => JSON.stringify(value);

/** The config file's entry for a connection as it is now; credentials as placeholders, since they are never sent here. */
export function connectionYaml(connection: Connection): string {
  const lines = [`connections:`, `  - name: ${scalar(connection.name)}`, `    transport: ${connection.transport}`];
  if (connection.url) lines.push(`    url: ${scalar(connection.url)}`);
  if (connection.command) lines.push(`    command: ${scalar(connection.command)}`);
  if (connection.args.length) lines.push(`    args: ${scalar(connection.args)}`);
  if (connection.cwd) lines.push(`    cwd: ${scalar(connection.cwd)}`);
  for (const [key, names] of [['env', Object.keys(connection.env)], ['headers', Object.keys(connection.headers)]] as const) {
    if (!names.length) continue;
    lines.push(`    ${key}:`);
    for (const name of names) lines.push(`      ${scalar(name)}: "<the value in your config file>"`);
  }
  lines.push(`    callTimeoutMs: ${connection.callTimeoutMs}`, `    maxConcurrency: ${connection.maxConcurrency}`, `    enabled: ${connection.enabled}`);
  return lines.join('\n');
}

/** Why a config-file connection cannot be changed here, and the YAML to change instead. */
export function ConfigFileNotice({ connection, id }: { connection: Connection; id?: string }) {
  return (
    <Alert color="blue" title="Managed by the config file" id={id}>
      <Text size="sm">
        {connection.name} is defined in the Gatehouse config file (GATEHOUSE_CONFIG), so it cannot be edited, disabled or deleted here: the next start of the
        gateway would put it back. Change its entry in the config file and restart the gateway (or ask your Gatehouse operator to):
      </Text>
      <Code block mt="sm" aria-label={`Config file entry of ${connection.name}`}>
        {connectionYaml(connection)}
      </Code>
    </Alert>
  );
}
