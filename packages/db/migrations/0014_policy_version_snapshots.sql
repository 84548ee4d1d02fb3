-- Each version is recorded whole when it is published; rows written before this keep a null
-- snapshot and are answered as partial.
ALTER TABLE "policy_versions" ADD COLUMN "snapshot" jsonb;
