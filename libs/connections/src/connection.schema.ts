import { z } from 'zod';
import { connectionSpecSchema } from '@gatehouse/config';

// The admin API and gatehouse_create_connection accept exactly the config file's connection shape.
export const createConnectionSchema = connectionSpecSchema;
export type CreateConnectionInput = z.infer<typeof createConnectionSchema>;

export const connectionIdSchema = z.uuid({ error: 'must be a connection id (UUID)' });

// The admin accepts the definition they reviewed, named by the hash GET .../tool-changes showed them.
export const acceptToolChangeSchema = z
  .object({ hash: z.string().regex(/^[0-9a-f]{64}$/, 'must be the pending definition hash shown by GET .../tool-changes') })
  .strict();
