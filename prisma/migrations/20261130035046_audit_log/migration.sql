-- CreateTable
CREATE TABLE "audit_records" (
    "id" BIGSERIAL NOT NULL,
    "organization_id" UUID NOT NULL,
    "event_id" UUID NOT NULL,
    "seq" BIGINT,
    "occurred_at" TIMESTAMP(3) NOT NULL,
    "kind" TEXT NOT NULL,
    "actor" JSONB NOT NULL,
    "target" JSONB,
    "outcome" TEXT,
    "trace_id" TEXT,
    "data" JSONB NOT NULL,
    "prev_hash" TEXT,
    "hash" TEXT,
    "chained_at" TIMESTAMP(3),

    CONSTRAINT "audit_records_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_checkpoints" (
    "id" UUID NOT NULL,
    "organization_id" UUID NOT NULL,
    "seq" BIGINT NOT NULL,
    "hash" TEXT NOT NULL,
    "signature" TEXT NOT NULL,
    "key_id" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_checkpoints_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "audit_records_event_id_key" ON "audit_records"("event_id");

-- CreateIndex
CREATE UNIQUE INDEX "audit_records_organization_id_seq_key" ON "audit_records"("organization_id", "seq");

-- CreateIndex
CREATE INDEX "audit_checkpoints_organization_id_seq_idx" ON "audit_checkpoints"("organization_id", "seq");


-- Hand-written (Prisma's schema cannot express a partial index): the chainer's work queue, records not yet
-- chained, in insertion order per organization. Stays small because chaining empties it every few seconds.
CREATE INDEX "audit_records_unchained_idx" ON "audit_records"("organization_id", "id") WHERE "seq" IS NULL;
