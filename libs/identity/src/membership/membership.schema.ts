import { z } from 'zod';
import { roleSchema } from '@gatehouse/config';

export const updateMemberSchema = z.object({ role: roleSchema }).strict();

export type UpdateMemberInput = z.infer<typeof updateMemberSchema>;

// Emails are compared lower-cased everywhere (users.email is stored so); 254 is the longest a mailbox can be.
export const addMemberSchema = z
  .object({
    email: z.email().max(254).transform((email) => email.toLowerCase()),
    role: roleSchema,
    name: z.string().trim().min(1).max(200).optional(),
  })
  .strict();

export type AddMemberInput = z.infer<typeof addMemberSchema>;
