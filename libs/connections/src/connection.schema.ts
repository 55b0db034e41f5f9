import { z } from 'zod';
import { connectionSpecSchema } from '@gatehouse/config';

// The admin API and gatehouse_create_connection accept exactly the config file's connection shape.
export const createConnectionSchema = connectionSpecSchema;
export type CreateConnectionInput = z.infer<typeof createConnectionSchema>;

export const connectionIdSchema = z.uuid({ error: 'must be a connection id (UUID)' });
