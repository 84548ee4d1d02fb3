-- The outbox gets every row inserted, then updated on claim, ack and receipt: vacuum it at 1%
-- dead rows rather than 20%, so claims do not walk dead rows, and analyse it as often, so the
-- planner knows how large a push has made it (PERFORMANCE.md, docs/CITY.md).
ALTER TABLE "deliveries" SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.01, autovacuum_vacuum_cost_delay = 0);
