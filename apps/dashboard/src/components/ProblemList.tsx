import { Alert, Code, List, Text } from '@mantine/core';
import { Problem, problemText } from '../api/client';

/** A refused draft in words: each problem with the path of what is wrong. */
export function ProblemList({ error, title }: { error: unknown; title: string }) {
  const problems = (error as Problem | null)?.errors;
  return (
    <Alert color="red" role="alert" title={title}>
      {problems?.length ? (
        <List size="sm">
          {problems.map((problem, index) => (
            <List.Item key={index}>
              <Code>{problem.path}</Code>: {problem.message}
            </List.Item>
          ))}
        </List>
      ) : (
        <Text size="sm">{problemText(error)}</Text>
      )}
    </Alert>
  );
}
