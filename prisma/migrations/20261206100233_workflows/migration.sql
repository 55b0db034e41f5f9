-- CreateEnum
CREATE TYPE "WorkflowRunStatus" AS ENUM ('queued', 'waiting_approval', 'running', 'succeeded', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "WorkflowStepStatus" AS ENUM ('running', 'waiting_approval', 'succeeded', 'failed', 'skipped', 'interrupted', 'cancelled');

-- AlterTable
ALTER TABLE "approval_requests" ADD COLUMN     "workflow_run_id" UUID,
ADD COLUMN     "workflow_step" INTEGER;

-- CreateTable
CREATE TABLE "workflows" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "definition" JSONB NOT NULL,
    "schedule_key_id" UUID,
    "config_managed" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "workflows_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workflow_versions" (
    "id" UUID NOT NULL,
    "workflow_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "definition" JSONB NOT NULL,
    "changed_by" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "workflow_versions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workflow_runs" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "version_id" UUID NOT NULL,
    "workflow_name" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "status" "WorkflowRunStatus" NOT NULL DEFAULT 'queued',
    "trigger" TEXT NOT NULL,
    "inputs" JSONB NOT NULL,
    "starter_kind" TEXT NOT NULL,
    "starter_subject" TEXT NOT NULL,
    "starter_name" TEXT NOT NULL,
    "starter_api_key_id" UUID,
    "starter_user_id" UUID,
    "next_step" INTEGER NOT NULL DEFAULT 0,
    "result" JSONB,
    "error" TEXT,
    "lease_owner" TEXT,
    "lease_until" TIMESTAMP(3),
    "cancel_requested" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMP(3),
    "finished_at" TIMESTAMP(3),

    CONSTRAINT "workflow_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workflow_run_steps" (
    "id" UUID NOT NULL,
    "run_id" UUID NOT NULL,
    "index" INTEGER NOT NULL,
    "step_id" TEXT NOT NULL,
    "tool" TEXT NOT NULL,
    "status" "WorkflowStepStatus" NOT NULL,
    "call_id" UUID,
    "approval_request_id" UUID,
    "arguments" JSONB,
    "result" JSONB,
    "error" TEXT,
    "started_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMP(3),

    CONSTRAINT "workflow_run_steps_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "workflows_organization_id_name_key" ON "workflows"("organization_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "workflow_versions_workflow_id_version_key" ON "workflow_versions"("workflow_id", "version");

-- CreateIndex
CREATE INDEX "workflow_runs_organization_id_created_at_idx" ON "workflow_runs"("organization_id", "created_at");

-- CreateIndex
CREATE INDEX "workflow_runs_status_lease_until_idx" ON "workflow_runs"("status", "lease_until");

-- CreateIndex
CREATE UNIQUE INDEX "workflow_run_steps_run_id_index_key" ON "workflow_run_steps"("run_id", "index");

-- CreateIndex
CREATE INDEX "approval_requests_workflow_run_id_idx" ON "approval_requests"("workflow_run_id");

-- AddForeignKey
ALTER TABLE "workflows" ADD CONSTRAINT "workflows_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_versions" ADD CONSTRAINT "workflow_versions_workflow_id_fkey" FOREIGN KEY ("workflow_id") REFERENCES "workflows"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_runs" ADD CONSTRAINT "workflow_runs_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_runs" ADD CONSTRAINT "workflow_runs_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "workflow_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_run_steps" ADD CONSTRAINT "workflow_run_steps_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "workflow_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

