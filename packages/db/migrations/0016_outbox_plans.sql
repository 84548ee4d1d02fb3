-- Hand-written (issue 13: costs independent of the outbox's size and of plan luck). The reach
-- trigger on deliveries (0008_reach_triggers) runs on every claim and every ack, and a plpgsql
-- statement without parameters keeps the plan it was first given on that connection. Made while
-- deliveries looked empty, the old body scanned the whole table once per changed row (its join on
-- duplicate_of) and joined the transition tables in a nested loop: every ack cost batch × table size.
--
-- Now:
-- - the changed rows are new_rows EXCEPT old_rows on (id, what the funnel sees): a set operation,
--   hashed or sorted, never a nested loop, whatever the transition tables were estimated at;
-- - a statement that changed nothing the funnel sees (a claim, a lease extended) stops there;
-- - the rows that share a changed delivery's fate are looked up by key, `= any(array)` on the small
--   partial indexes deliveries_duplicate_of_idx and deliveries_digest_idx, and enable_seqscan is
--   off inside this function so that a plan made on an empty outbox still uses them. No new index.
-- A delivery both changed itself and merged into a changed one may be queued twice: refreshReach
-- recounts each pair once per batch, so a repeat costs nothing.
CREATE OR REPLACE FUNCTION reach_deliveries_updated() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off AS $$
DECLARE
  changed bigint[];
  digests bigint[];
BEGIN
  WITH c AS (
    SELECT id, kind, policy_id, enterprise_id, CASE status WHEN 'sending' THEN 'pending' ELSE status END AS status,
      sent_at IS NULL AS unsent, CASE WHEN status IN ('failed', 'undelivered') THEN error_code END AS error_code, duplicate_of, digest_id
    FROM new_rows
    EXCEPT
    SELECT id, kind, policy_id, enterprise_id, CASE status WHEN 'sending' THEN 'pending' ELSE status END,
      sent_at IS NULL, CASE WHEN status IN ('failed', 'undelivered') THEN error_code END, duplicate_of, digest_id
    FROM old_rows
  ), queued AS (
    INSERT INTO reach_dirty (policy_id, enterprise_id, delivery_id)
    SELECT policy_id, enterprise_id, id FROM c WHERE kind = 'policy' AND policy_id IS NOT NULL
  )
  SELECT array_agg(id), array_agg(id) FILTER (WHERE kind = 'digest') INTO changed, digests FROM c;
  IF changed IS NULL THEN
    RETURN NULL;
  END IF;
  -- Nothing but the partial indexes' own conditions here, and kind tested after the fence: given
  -- kind = 'policy' as well, a plan made on an empty outbox walked the whole unique key (whose last
  -- column is kind) instead, as seq scans are off.
  WITH shared AS MATERIALIZED (
    SELECT policy_id, enterprise_id, id, kind FROM deliveries WHERE duplicate_of = ANY(changed) AND duplicate_of IS NOT NULL
    UNION ALL
    SELECT policy_id, enterprise_id, id, kind FROM deliveries WHERE digest_id = ANY(digests) AND digest_id IS NOT NULL
  )
  INSERT INTO reach_dirty (policy_id, enterprise_id, delivery_id)
  SELECT policy_id, enterprise_id, id FROM shared WHERE kind = 'policy';
  RETURN NULL;
END
$$;
