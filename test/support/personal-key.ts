import { hashCredential, hashPassword } from '@gatehouse/identity';
import { query } from './database';

/**
 * A person's own API key in an organization, stored the way a route for people would store it (no such route
 * exists yet: people reach /api/v1 through keys minted for them). Returns the key's id.
 */
export async function insertPersonalKey(databaseUrl: string, key: { organization: string; email: string; secret: string; role: string }): Promise<string> {
  const [row] = await query<{ id: string }>(
    databaseUrl,
    `INSERT INTO api_keys (id, organization_id, created_by_id, name, prefix, secret_hash, kind, role, access)
     SELECT gen_random_uuid(), o.id, u.id, $2, $3, $4, 'api_key', $5::"Role", 'read_write'
     FROM organizations o, users u WHERE o.slug = $6 AND u.email = $1 RETURNING id::text AS id`,
    [key.email, `${key.email.split('@')[0]}-personal`, key.secret.slice(0, 10), hashCredential(key.secret), key.role, key.organization],
  );
  if (!row) throw new Error(`No organization ${key.organization} or no person ${key.email}`);
  return row.id;
}

/**
 * A person added to an organization outside the config file (as the members API's people are: signed in through the
 * identity provider, or added later), with a password for the sign-in pages.
 */
export async function insertMember(databaseUrl: string, member: { organization: string; email: string; password: string; role: string }): Promise<string> {
  const [user] = await query<{ id: string }>(
    databaseUrl,
    `INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), $1, $2)
     ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash RETURNING id::text AS id`,
    [member.email, await hashPassword(member.password)],
  );
  await query(
    databaseUrl,
    `INSERT INTO memberships (id, organization_id, user_id, role) SELECT gen_random_uuid(), o.id, $1::uuid, $2::"Role" FROM organizations o WHERE o.slug = $3`,
    [user!.id, member.role, member.organization],
  );
  return user!.id;
}
