-- AlterTable
ALTER TABLE "connections" ADD COLUMN     "call_deadline_ms" INTEGER NOT NULL DEFAULT 300000,
ADD COLUMN     "max_reply_bytes" INTEGER NOT NULL DEFAULT 16777216,
ADD COLUMN     "max_sse_event_bytes" INTEGER NOT NULL DEFAULT 16777216,
ADD COLUMN     "max_stderr_line_bytes" INTEGER NOT NULL DEFAULT 4096;


-- The deadline is never shorter than the idle timeout (the spec's rule): connections made before it existed
-- and with a longer idle timeout get that as their deadline.
UPDATE "connections" SET "call_deadline_ms" = "call_timeout_ms" WHERE "call_timeout_ms" > "call_deadline_ms";
