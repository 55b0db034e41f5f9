import { Prisma } from '../generated/prisma/client';

/** The write broke a unique constraint (Prisma's P2002): a duplicate name, or a concurrent insert of the same row. */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}
