import { Code, Text } from '@mantine/core';
import { hunks, lineDiff } from '../lineDiff';

const MARK = { same: '  ', added: '+ ', removed: '- ' } as const;
// Backgrounds, not text colours: the text keeps the block's contrast; + and - say it without colour too.
const BACKGROUND = { same: undefined, added: 'green.1', removed: 'red.1' } as const;

/** A unified line diff of two texts: added lines marked +, removed -, long unchanged runs folded. */
export function DiffView({ before, after, label }: { before: string; after: string; label: string }) {
  const lines = hunks(lineDiff(before, after));
  if (!lines.some((line) => line.kind === 'added' || line.kind === 'removed')) {
    return (
      <Text size="sm" c="dimmed">
        No difference.
      </Text>
    );
  }
  return (
    <Code block aria-label={label}>
      {lines.map((line, index) =>
        line.kind === 'folded' ? (
          <Text key={index} span c="dimmed" size="xs" display="block">
            … {line.count} unchanged {line.count === 1 ? 'line' : 'lines'}
          </Text>
        ) : (
          <Text key={index} span bg={BACKGROUND[line.kind]} ff="monospace" size="xs" display="block" style={{ whiteSpace: 'pre' }}>
            {MARK[line.kind]}
            {line.text}
          </Text>
        ),
      )}
    </Code>
  );
}
