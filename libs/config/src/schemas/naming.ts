// Connection names become tool-name prefixes split at the first underscore, so they may not contain one.
export const CONNECTION_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;
export const RESERVED_CONNECTION_NAMES: ReadonlySet<string> = new Set(['gatehouse']);
export const ORGANIZATION_SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** A connection tag (connection spec `tags`), which an endpoint's selection names connections by. */
export const TAG_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;
