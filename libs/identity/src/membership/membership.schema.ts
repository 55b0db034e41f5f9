import { z } from 'zod';
import { roleSchema } from '@gatehouse/config';

export const updateMemberSchema = z.object({ role: roleSchema }).strict();

export type UpdateMemberInput = z.infer<typeof updateMemberSchema>;
