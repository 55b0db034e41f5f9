-- A usage row counts the calls of one second that are alike in every other column (connection, tool, who, outcome,
-- approval), with their summed cost: a busy agent's calls are one row a flush instead of one each. Rows written before
-- counted one call each.
ALTER TABLE "usage_records" ADD COLUMN "calls" INTEGER NOT NULL DEFAULT 1;
