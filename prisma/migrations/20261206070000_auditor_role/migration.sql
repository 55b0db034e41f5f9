-- An auditor reads the audit log, usage and approvals history, and nothing else (roles.ts).
ALTER TYPE "Role" ADD VALUE 'auditor';
