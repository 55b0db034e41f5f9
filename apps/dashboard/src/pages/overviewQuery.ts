import { queryOptions } from '@tanstack/react-query';
import { api, data } from '../api/client';

// Apart from the page, whose chunk carries the chart library: the route asks for the data while that chunk loads.
export function overviewQuery(organization: string) {
  return queryOptions({ queryKey: ['overview', organization], queryFn: () => data(api.GET('/api/v1/overview')), refetchInterval: 30_000 });
}
