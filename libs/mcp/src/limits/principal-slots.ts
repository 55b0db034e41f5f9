import { credentialKey, Principal } from '@gatehouse/identity';

/** Which of the two caps is full. */
export type SlotScope = 'credential' | 'organization';

export type SlotHolder = Pick<Principal, 'apiKeyId' | 'subject' | 'organizationId'>;

// What each credential and each organization holds at once in this process (sessions, or calls in flight), against
// a cap for each. Holders with nothing held have no entry, so the maps are as large as what is held.
export class PrincipalSlots {
  private readonly credentials = new Map<string, number>();
  private readonly organizations = new Map<string, number>();

  constructor(
    readonly perCredential: number,
    readonly perOrganization: number,
  ) {}

  /** Takes `count` slots: the function that gives them back (calling it again is harmless), or the cap that is full. */
  acquire(holder: SlotHolder, count = 1): (() => void) | SlotScope {
    const key = credentialKey(holder);
    const credential = this.credentials.get(key) ?? 0;
    if (credential + count > this.perCredential) return 'credential';
    const organization = this.organizations.get(holder.organizationId) ?? 0;
    if (organization + count > this.perOrganization) return 'organization';
    this.credentials.set(key, credential + count);
    this.organizations.set(holder.organizationId, organization + count);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      giveBack(this.credentials, key, count);
      giveBack(this.organizations, holder.organizationId, count);
    };
  }
}

function giveBack(counts: Map<string, number>, key: string, count: number): void {
  const left = (counts.get(key) ?? 0) - count;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
}
