import { Alert, Button, Stack } from '@mantine/core';
import { useRouteError } from 'react-router';

/** A page that could not be loaded (its chunk, after a deploy or on a lost connection): said, with what to do. */
export function RouteError() {
  const error = useRouteError();
  console.error(error);
  return (
    <Stack p="md" maw={640}>
      <Alert color="red" role="alert" title="This page could not be loaded">
        Gatehouse may have been updated, or the connection dropped. Reload the page; if it happens again, tell your Gatehouse operator.
      </Alert>
      <Button variant="default" onClick={() => window.location.reload()} w="fit-content">
        Reload
      </Button>
    </Stack>
  );
}
