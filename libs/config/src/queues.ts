// Every BullMQ queue and job name in one place (STYLE.md).
export const QUEUES = {
  maintenance: 'maintenance',
} as const;

export const JOBS = {
  refreshCatalogs: 'connections.refresh-catalogs',
  purgeOAuth: 'oauth.purge-expired',
} as const;
