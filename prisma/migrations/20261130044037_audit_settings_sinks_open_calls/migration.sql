-- CreateEnum
CREATE TYPE "AuditLevel" AS ENUM ('metadata', 'arguments', 'results');

-- CreateEnum
CREATE TYPE "AuditFailMode" AS ENUM ('closed', 'open');

-- CreateEnum
CREATE TYPE "AuditSinkType" AS ENUM ('syslog', 'webhook', 'splunk_hec');

-- CreateEnum
CREATE TYPE "AuditSinkFormat" AS ENUM ('ocsf', 'native');

-- CreateEnum
CREATE TYPE "AuditSinkState" AS ENUM ('active', 'dead_letter');

-- AlterTable
ALTER TABLE "organizations" ADD COLUMN     "audit_config_managed" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "audit_fail_mode" "AuditFailMode" NOT NULL DEFAULT 'closed',
ADD COLUMN     "audit_level" "AuditLevel" NOT NULL DEFAULT 'arguments',
ADD COLUMN     "audit_redact_paths" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "audit_result_max_bytes" INTEGER NOT NULL DEFAULT 8192,
ADD COLUMN     "audit_retention_days" INTEGER;

-- AlterTable
ALTER TABLE "audit_records" ADD COLUMN     "call_id" UUID;

-- CreateTable
CREATE TABLE "audit_open_calls" (
    "call_id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "instance_id" TEXT NOT NULL,
    "request_event_id" UUID NOT NULL,
    "actor" JSONB NOT NULL,
    "target" JSONB,
    "trace_id" TEXT,
    "started_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "audit_open_calls_pkey" PRIMARY KEY ("call_id")
);

-- CreateTable
CREATE TABLE "audit_sinks" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "type" "AuditSinkType" NOT NULL,
    "format" "AuditSinkFormat" NOT NULL,
    "settings" JSONB NOT NULL,
    "secret" TEXT,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "config_managed" BOOLEAN NOT NULL DEFAULT false,
    "cursor" BIGINT NOT NULL DEFAULT 0,
    "state" "AuditSinkState" NOT NULL DEFAULT 'active',
    "failures" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "last_attempt_at" TIMESTAMP(3),
    "last_delivered_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "audit_sinks_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "audit_open_calls_instance_id_idx" ON "audit_open_calls"("instance_id");

-- CreateIndex
CREATE UNIQUE INDEX "audit_sinks_organization_id_name_key" ON "audit_sinks"("organization_id", "name");

-- CreateIndex
CREATE INDEX "audit_records_organization_id_occurred_at_idx" ON "audit_records"("organization_id", "occurred_at");

-- CreateIndex
CREATE INDEX "audit_records_organization_id_call_id_idx" ON "audit_records"("organization_id", "call_id");

-- AddForeignKey
ALTER TABLE "audit_sinks" ADD CONSTRAINT "audit_sinks_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

