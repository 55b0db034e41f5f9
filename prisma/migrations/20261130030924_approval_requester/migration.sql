-- AlterTable
ALTER TABLE "approval_requests" ADD COLUMN     "requester_api_key_id" UUID,
ADD COLUMN     "requester_email" TEXT,
ADD COLUMN     "requester_kind" TEXT NOT NULL,
ADD COLUMN     "requester_role" "Role" NOT NULL;

