-- CreateEnum
CREATE TYPE "ApprovalStatus" AS ENUM ('pending', 'approved', 'denied', 'expired', 'executed', 'failed');

-- CreateEnum
CREATE TYPE "BudgetScope" AS ENUM ('organization', 'connection', 'member', 'api_key');

-- CreateEnum
CREATE TYPE "BudgetPeriod" AS ENUM ('day', 'month');

-- CreateTable
CREATE TABLE "approval_requests" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "status" "ApprovalStatus" NOT NULL DEFAULT 'pending',
    "connection_name" TEXT NOT NULL,
    "tool_name" TEXT NOT NULL,
    "downstream_tool" TEXT NOT NULL,
    "arguments" JSONB NOT NULL,
    "arguments_hash" TEXT NOT NULL,
    "requester_subject" TEXT NOT NULL,
    "requester_user_id" UUID,
    "requester_name" TEXT NOT NULL,
    "rule_id" UUID,
    "rule_name" TEXT NOT NULL,
    "approver_roles" "Role"[],
    "required_approvals" INTEGER NOT NULL,
    "expires_at" TIMESTAMP(3) NOT NULL,
    "decided_at" TIMESTAMP(3),
    "decision_reason" TEXT,
    "result" JSONB,
    "executed_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "approval_requests_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "approval_decisions" (
    "id" UUID NOT NULL,
    "request_id" UUID NOT NULL,
    "approver_identity" TEXT NOT NULL,
    "approver_subject" TEXT NOT NULL,
    "approver_name" TEXT NOT NULL,
    "approved" BOOLEAN NOT NULL,
    "reason" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "approval_decisions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "tool_costs" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "connection" TEXT NOT NULL,
    "tool" TEXT NOT NULL DEFAULT '*',
    "per_call_micros" BIGINT NOT NULL,
    "config_managed" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "tool_costs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "budgets" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "scope" "BudgetScope" NOT NULL,
    "scope_ref" TEXT NOT NULL DEFAULT '',
    "period" "BudgetPeriod" NOT NULL,
    "limit_micros" BIGINT NOT NULL,
    "alert_at" DOUBLE PRECISION[],
    "config_managed" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "budgets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "budget_alerts" (
    "id" UUID NOT NULL,
    "budget_id" UUID NOT NULL,
    "period_start" TIMESTAMP(3) NOT NULL,
    "threshold" DOUBLE PRECISION NOT NULL,
    "sent_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "budget_alerts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "usage_records" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "occurred_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "connection" TEXT NOT NULL,
    "tool" TEXT NOT NULL,
    "principal_subject" TEXT NOT NULL,
    "user_email" TEXT,
    "api_key_id" UUID,
    "cost_micros" BIGINT NOT NULL,
    "outcome" TEXT NOT NULL,
    "approval_request_id" UUID,

    CONSTRAINT "usage_records_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhooks" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "secret" TEXT NOT NULL,
    "events" TEXT[],
    "config_managed" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "webhooks_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "approval_requests_organization_id_status_idx" ON "approval_requests"("organization_id", "status");

-- CreateIndex
CREATE UNIQUE INDEX "approval_decisions_request_id_approver_identity_key" ON "approval_decisions"("request_id", "approver_identity");

-- CreateIndex
CREATE UNIQUE INDEX "tool_costs_organization_id_connection_tool_key" ON "tool_costs"("organization_id", "connection", "tool");

-- CreateIndex
CREATE UNIQUE INDEX "budgets_organization_id_scope_scope_ref_period_key" ON "budgets"("organization_id", "scope", "scope_ref", "period");

-- CreateIndex
CREATE UNIQUE INDEX "budget_alerts_budget_id_period_start_threshold_key" ON "budget_alerts"("budget_id", "period_start", "threshold");

-- CreateIndex
CREATE INDEX "usage_records_organization_id_occurred_at_idx" ON "usage_records"("organization_id", "occurred_at");

-- CreateIndex
CREATE UNIQUE INDEX "webhooks_organization_id_name_key" ON "webhooks"("organization_id", "name");

-- AddForeignKey
ALTER TABLE "approval_requests" ADD CONSTRAINT "approval_requests_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "approval_decisions" ADD CONSTRAINT "approval_decisions_request_id_fkey" FOREIGN KEY ("request_id") REFERENCES "approval_requests"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "tool_costs" ADD CONSTRAINT "tool_costs_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "budgets" ADD CONSTRAINT "budgets_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "budget_alerts" ADD CONSTRAINT "budget_alerts_budget_id_fkey" FOREIGN KEY ("budget_id") REFERENCES "budgets"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "usage_records" ADD CONSTRAINT "usage_records_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhooks" ADD CONSTRAINT "webhooks_organization_id_fkey" FOREIGN KEY ("organization_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

