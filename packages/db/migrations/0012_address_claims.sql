-- Hand-ordered: the column comes before the primary key that names it.
ALTER TABLE "policy_addresses" ADD COLUMN "kind" text DEFAULT 'policy' NOT NULL;--> statement-breakpoint
ALTER TABLE "policy_addresses" DROP CONSTRAINT "policy_addresses_policy_id_policy_version_channel_address_hash_pk";--> statement-breakpoint
ALTER TABLE "policy_addresses" ADD CONSTRAINT "policy_addresses_policy_id_policy_version_kind_channel_address_hash_pk" PRIMARY KEY("policy_id","policy_version","kind","channel","address_hash");--> statement-breakpoint
-- Update and revocation notices now claim their addresses too: claims for those already made, so
-- a fallback or a later notice finds them.
INSERT INTO "policy_addresses" ("policy_id", "policy_version", "kind", "channel", "address_hash", "delivery_id")
SELECT DISTINCT ON (d.policy_id, d.policy_version, k.kind, d.channel, a.hash) d.policy_id, d.policy_version, k.kind, d.channel, a.hash, d.id
FROM "deliveries" d
JOIN "contacts" c ON c.id = d.contact_id
CROSS JOIN LATERAL (SELECT CASE d.kind WHEN 'revocation' THEN 'revocation' ELSE 'policy' END AS kind) k
CROSS JOIN LATERAL (SELECT md5(CASE d.channel WHEN 'sms' THEN c.phone WHEN 'email' THEN lower(c.email) ELSE c.wechat_openid END) AS hash) a
WHERE d.kind IN ('update', 'revocation') AND d.policy_id IS NOT NULL AND d.status NOT IN ('merged', 'suppressed') AND a.hash IS NOT NULL
ORDER BY d.policy_id, d.policy_version, k.kind, d.channel, a.hash, d.id
ON CONFLICT DO NOTHING;
