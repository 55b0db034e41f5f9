-- CreateIndex
CREATE INDEX "audit_records_organization_id_id_idx" ON "audit_records"("organization_id", "id");

