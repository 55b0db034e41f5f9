import { Alert, Loader } from '@mantine/core';
import type { UseQueryResult } from '@tanstack/react-query';
import { problemText } from '../api/client';

/** A read's loader while it is pending, and its failure in words once the retries are spent: never a spinner for ever. */
export function QueryState({ query, what, hint = '' }: { query: UseQueryResult<unknown>; what: string; hint?: string }) {
  if (query.isPending) return <Loader aria-label={`Loading ${what}`} />;
  if (query.isError)
    return (
      <Alert color="red" role="alert" title={`The ${what} could not be loaded`}>
        {problemText(query.error)}
        {hint && ` ${hint}`}
      </Alert>
    );
  return null;
}
