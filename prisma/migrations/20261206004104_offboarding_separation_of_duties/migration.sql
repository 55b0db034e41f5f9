-- AlterTable
ALTER TABLE "organizations" ADD COLUMN     "key_approvals" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "api_keys" ADD COLUMN     "created_by_key_id" UUID;

-- AlterTable (edited by hand: existing requests get the identity the approval service used to derive)
ALTER TABLE "approval_requests" ADD COLUMN     "requester_identity" TEXT;
UPDATE "approval_requests" SET "requester_identity" = CASE WHEN "requester_user_id" IS NOT NULL THEN 'user:' || "requester_user_id" ELSE "requester_subject" END;
ALTER TABLE "approval_requests" ALTER COLUMN "requester_identity" SET NOT NULL;

-- CreateIndex
CREATE INDEX "api_keys_created_by_key_id_idx" ON "api_keys"("created_by_key_id");

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_created_by_key_id_fkey" FOREIGN KEY ("created_by_key_id") REFERENCES "api_keys"("id") ON DELETE SET NULL ON UPDATE CASCADE;

