-- AlterTable
ALTER TABLE "organizations" ADD COLUMN     "hold_new_tools" BOOLEAN NOT NULL DEFAULT true;

