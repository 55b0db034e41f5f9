import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';

// The gateway's event stream for this organization: each event names what changed, and the queries showing it are
// read again. EventSource reconnects by itself after a network failure.
export function useLiveUpdates(organization: string): void {
  const queries = useQueryClient();
  useEffect(() => {
    const source = new EventSource(`/api/v1/events?organization=${encodeURIComponent(organization)}`);
    const refresh = () => void queries.invalidateQueries({ queryKey: ['approvals', organization] });
    source.addEventListener('approval', refresh);
    // Whatever was missed while the stream was down is read again once it is back.
    source.addEventListener('open', refresh);
    return () => source.close();
  }, [organization, queries]);
}
