CREATE TABLE "policy_addresses" (
	"policy_id" bigint NOT NULL,
	"policy_version" integer NOT NULL,
	"channel" text NOT NULL,
	"address_hash" text NOT NULL,
	"delivery_id" bigint NOT NULL,
	CONSTRAINT "policy_addresses_policy_id_policy_version_channel_address_hash_pk" PRIMARY KEY("policy_id","policy_version","channel","address_hash")
);
--> statement-breakpoint
-- Claims for the deliveries that exist already, so pushes in progress keep merging.
INSERT INTO "policy_addresses" ("policy_id", "policy_version", "channel", "address_hash", "delivery_id")
SELECT DISTINCT ON (d.policy_id, d.policy_version, d.channel, a.hash) d.policy_id, d.policy_version, d.channel, a.hash, d.id
FROM "deliveries" d
JOIN "contacts" c ON c.id = d.contact_id
CROSS JOIN LATERAL (SELECT md5(CASE d.channel WHEN 'sms' THEN c.phone WHEN 'email' THEN lower(c.email) ELSE c.wechat_openid END) AS hash) a
WHERE d.kind = 'policy' AND d.policy_id IS NOT NULL AND d.status NOT IN ('merged', 'suppressed') AND a.hash IS NOT NULL
ORDER BY d.policy_id, d.policy_version, d.channel, a.hash, d.id;
