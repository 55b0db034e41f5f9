-- AlterTable
ALTER TABLE "workflow_runs" ADD COLUMN     "scheduled_for" TIMESTAMP(3);

-- CreateIndex
CREATE UNIQUE INDEX "workflow_runs_organization_id_workflow_name_scheduled_for_key" ON "workflow_runs"("organization_id", "workflow_name", "scheduled_for");

