-- AlterTable
ALTER TABLE "approval_requests" ADD COLUMN     "requester_key_name" TEXT,
ADD COLUMN     "requester_via" TEXT,
ADD COLUMN     "tool_classes" "ToolClass"[] DEFAULT ARRAY[]::"ToolClass"[];

