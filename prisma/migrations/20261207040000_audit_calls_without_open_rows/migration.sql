-- tools/call without open-call rows. A call's request record names the gateway process running it (instance_id, not
-- hashed: it says who may still write the outcome, not what happened), and a call is open while its request record has
-- no outcome record. Each process keeps a row in audit_instances with the start of its oldest open call (open_since,
-- refreshed with its heartbeat); reconciliation of a dead process reads its requests from there on, through a partial
-- index, instead of every call inserting and deleting a row of its own (a heap row, two index entries and a dead row for
-- autovacuum: 12-18% of the append's CPU per call).
ALTER TABLE "audit_records" ADD COLUMN "instance_id" TEXT;
CREATE INDEX "audit_records_instance_id_occurred_at_idx" ON "audit_records" ("instance_id", "occurred_at") WHERE "instance_id" IS NOT NULL;
-- A call's records by its id alone (call ids are UUIDs this gateway mints): a probe with an organization too could be
-- planned on the (organization_id, id) index instead, and a generic plan made on a fresh, empty table was, scanning
-- the organization's records on every call for the life of the connection.
DROP INDEX "audit_records_organization_id_call_id_idx";
CREATE INDEX "audit_records_call_id_idx" ON "audit_records" ("call_id") WHERE "call_id" IS NOT NULL;

CREATE TABLE "audit_instances" (
    "id" TEXT NOT NULL,
    "open_since" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "audit_instances_pkey" PRIMARY KEY ("id")
);

-- The calls open at upgrade keep their process, so that they are reconciled as before.
UPDATE "audit_records" r SET "instance_id" = o."instance_id" FROM "audit_open_calls" o WHERE r."event_id" = o."request_event_id";
INSERT INTO "audit_instances" ("id", "open_since") SELECT "instance_id", min("started_at") FROM "audit_open_calls" GROUP BY 1;
DROP TABLE "audit_open_calls";

-- What the table held, for operators: the calls whose request record has no outcome record. It reads every request
-- record; the gateway itself never reads it.
CREATE VIEW "audit_open_calls" AS
SELECT r."call_id", r."organization_id", r."instance_id", r."event_id" AS "request_event_id", r."actor", r."target", r."trace_id",
  r."occurred_at" AS "started_at"
FROM "audit_records" r
WHERE r."kind" = 'tools.call.request' AND r."call_id" IS NOT NULL AND NOT EXISTS (
  SELECT 1 FROM "audit_records" o WHERE o."call_id" = r."call_id" AND o."kind" = 'tools.call.outcome'
);

-- doc: { records: [{ o: organization id, p: prefix, s: suffix, i: the process running the call (request records that
--        open one) }], closed: [call ids whose outcome is in records],
--        superseding: [call ids whose outcome is already marked supersedesInterrupted] }
-- An outcome of a call that has an outcome already was recorded `interrupted` by another replica meanwhile (under the
-- same chain lock, gatehouse_audit_interrupt): unless the caller marked it, nothing is written and SQLSTATE GHA01
-- names those calls, so the caller marks them and writes again.
CREATE OR REPLACE FUNCTION gatehouse_audit_append(doc jsonb) RETURNS void LANGUAGE plpgsql SET enable_seqscan = off SET plan_cache_mode = force_generic_plan AS $fn$
DECLARE
  unheard text[];
  org uuid;
  head_seq bigint;
  head_hash text;
  item record;
  docs jsonb[] := '{}';
  seqs bigint[] := '{}';
  prevs text[] := '{}';
  hashes text[] := '{}';
  instances text[] := '{}';
  chained_text text;
BEGIN
  -- Records by organization, each organization's in their order; the organizations in a fixed order, so that two
  -- writers never wait on each other's locks in a cycle.
  FOR item IN
    SELECT (r->>'o')::uuid AS o, r->>'p' AS p, r->>'s' AS s, r->>'i' AS i
    FROM jsonb_array_elements(doc->'records') WITH ORDINALITY AS x(r, n) ORDER BY 1, n
  LOOP
    IF org IS DISTINCT FROM item.o THEN
      org := item.o;
      PERFORM pg_advisory_xact_lock(1096107081, hashtext(org::text));
      -- A statement of its own after the lock: it sees what the previous holder committed.
      SELECT a.seq, a.hash INTO head_seq, head_hash
      FROM audit_records a WHERE a.organization_id = org AND a.seq IS NOT NULL ORDER BY a.seq DESC LIMIT 1;
      IF NOT FOUND THEN
        head_seq := 0;
        head_hash := 'genesis:' || org::text;
      END IF;
    END IF;
    head_seq := head_seq + 1;
    chained_text := item.p || head_seq::text || item.s;
    docs := docs || chained_text::jsonb;
    seqs := seqs || head_seq;
    prevs := prevs || head_hash;
    instances := instances || item.i;
    head_hash := encode(sha256(convert_to(head_hash || E'\n' || chained_text, 'UTF8')), 'hex');
    hashes := hashes || head_hash;
  END LOOP;

  -- Under every chain lock of the batch, as gatehouse_audit_interrupt writes.
  IF jsonb_array_length(doc->'closed') > 0 THEN
    SELECT ARRAY(
      SELECT d->>'callId' FROM unnest(docs) AS d
      WHERE d->>'kind' = 'tools.call.outcome' AND doc->'closed' ? (d->>'callId') AND NOT doc->'superseding' ? (d->>'callId')
        AND EXISTS (SELECT 1 FROM audit_records a WHERE a.call_id = (d->>'callId')::uuid AND a.kind = 'tools.call.outcome')
    ) INTO unheard;
    IF cardinality(unheard) > 0 THEN
      RAISE EXCEPTION 'outcomes of calls recorded as interrupted meanwhile' USING ERRCODE = 'GHA01', DETAIL = array_to_string(unheard, ',');
    END IF;
  END IF;

  INSERT INTO audit_records (organization_id, event_id, seq, occurred_at, kind, actor, target, outcome, trace_id, data, call_id,
    prev_hash, hash, chained_at, instance_id)
  SELECT (l.j->>'organizationId')::uuid, (l.j->>'eventId')::uuid, l.seq, (l.j->>'occurredAt')::timestamptz AT TIME ZONE 'UTC',
    l.j->>'kind', l.j->'actor', NULLIF(l.j->'target', 'null'::jsonb), l.j->>'outcome', l.j->>'traceId', l.j->'data',
    (l.j->>'callId')::uuid, l.prev, l.hash, clock_timestamp() AT TIME ZONE 'UTC', l.instance
  FROM unnest(docs, seqs, prevs, hashes, instances) WITH ORDINALITY AS l(j, seq, prev, hash, instance, n)
  ORDER BY l.n;
END
$fn$;

-- The calls of these processes (dead, or shutting down) that have no outcome get one, `interrupted`, with the
-- request's actor and target; the processes' rows go. Under each organization's chain lock, taken in organization
-- order as gatehouse_audit_append takes them, so an outcome is written once: by the process that made the call, or
-- here. Unchained (seq NULL): the chainer chains them. `open_since`: where a process ending its own calls knows they
-- start, should its row be gone (another replica reconciled it while it was unheard, and it has not beaten since).
-- Returns the number of calls ended.
CREATE FUNCTION gatehouse_audit_interrupt(ids text[], ended_at timestamp(3), open_since timestamp(3) DEFAULT NULL) RETURNS integer LANGUAGE plpgsql SET enable_seqscan = off AS $fn$
DECLARE
  since timestamp(3);
  org uuid;
  ended integer;
BEGIN
  -- Locked, so that two replicas reconciling the same process take turns.
  SELECT min(i.open_since) INTO since FROM (SELECT a.open_since FROM audit_instances a WHERE a.id = ANY (ids) FOR UPDATE) i;
  since := least(since, gatehouse_audit_interrupt.open_since);
  IF since IS NULL THEN
    RETURN 0;
  END IF;
  FOR org IN
    SELECT DISTINCT r.organization_id FROM audit_records r
    WHERE r.instance_id = ANY (ids) AND r.occurred_at >= since
    ORDER BY 1
  LOOP
    PERFORM pg_advisory_xact_lock(1096107081, hashtext(org::text));
  END LOOP;
  INSERT INTO audit_records (organization_id, event_id, occurred_at, kind, actor, target, outcome, trace_id, data, call_id)
  SELECT r.organization_id, gen_random_uuid(), ended_at, 'tools.call.outcome', r.actor, r.target, 'interrupted', r.trace_id,
    jsonb_build_object('outcome', 'interrupted', 'requestEventId', r.event_id::text, 'error', 'the gateway process ended before the call finished'),
    r.call_id
  FROM audit_records r
  WHERE r.instance_id = ANY (ids) AND r.occurred_at >= since AND r.kind = 'tools.call.request' AND NOT EXISTS (
    SELECT 1 FROM audit_records o WHERE o.call_id = r.call_id AND o.kind = 'tools.call.outcome'
  )
  ORDER BY r.occurred_at, r.id;
  GET DIAGNOSTICS ended = ROW_COUNT;
  DELETE FROM audit_instances WHERE id = ANY (ids);
  RETURN ended;
END
$fn$;
