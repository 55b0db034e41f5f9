// Moved to @gatehouse/config (the audit log hashes with it too); re-exported so existing imports keep working.
export { canonicalJson } from '@gatehouse/config';
