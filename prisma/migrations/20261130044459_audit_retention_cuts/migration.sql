-- AlterTable
ALTER TABLE "audit_checkpoints" ADD COLUMN     "cut" BOOLEAN NOT NULL DEFAULT false;

