-- CreateEnum
CREATE TYPE "PolicyEffect" AS ENUM ('allow', 'deny', 'require_approval');

-- CreateEnum
CREATE TYPE "ToolClass" AS ENUM ('read', 'write', 'destructive', 'open_world');

-- AlterTable
ALTER TABLE "organizations" ADD COLUMN     "auto_accept_tool_changes" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "default_effect" "PolicyEffect" NOT NULL DEFAULT 'allow',
ADD COLUMN     "policy_config_managed" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "policy_version" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "tool_pins" (
    "id" UUID NOT NULL,
    "connection_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "definition" JSONB NOT NULL,
    "accepted_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "accepted_by" TEXT,

    CONSTRAINT "tool_pins_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "policy_rules" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "description" TEXT,
    "effect" "PolicyEffect" NOT NULL,
    "match" JSONB NOT NULL,
    "approval" JSONB,
    "config_managed" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "policy_rules_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "policy_revisions" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "default_effect" "PolicyEffect" NOT NULL,
    "rules" JSONB NOT NULL,
    "changed_by" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "policy_revisions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "tool_class_overrides" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "pattern" TEXT NOT NULL,
    "tool_class" "ToolClass" NOT NULL,
    "config_managed" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "tool_class_overrides_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "tool_pins_connection_id_name_key" ON "tool_pins"("connection_id", "name");

-- CreateIndex
CREATE INDEX "policy_rules_organization_id_position_idx" ON "policy_rules"("organization_id", "position");

-- CreateIndex
CREATE UNIQUE INDEX "policy_rules_organization_id_name_key" ON "policy_rules"("organization_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "policy_revisions_organization_id_version_key" ON "policy_revisions"("organization_id", "version");

-- CreateIndex
CREATE UNIQUE INDEX "tool_class_overrides_organization_id_pattern_key" ON "tool_class_overrides"("organization_id", "pattern");

-- AddForeignKey
ALTER TABLE "tool_pins" ADD CONSTRAINT "tool_pins_connection_id_fkey" FOREIGN KEY ("connection_id") REFERENCES "connections"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "policy_rules" ADD CONSTRAINT "policy_rules_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "policy_revisions" ADD CONSTRAINT "policy_revisions_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "tool_class_overrides" ADD CONSTRAINT "tool_class_overrides_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

