-- Audit records are chained as they are appended (libs/db/src/repositories/audit-append.ts): one statement takes the
-- chain lock of each organization (the one the chainer takes: pg_advisory_xact_lock(0x41554449, hashtext(organization id))),
-- reads its head and inserts the records with seq, prev_hash and hash, so no record is written twice. The hash is
-- SHA-256 hex of `prev_hash \n prefix seq suffix`, where prefix and suffix are the record's canonical JSON split
-- around its seq, computed by the application; the columns are read from that same JSON, so the hash covers exactly
-- what is stored. The open-call rows of tools/call are written and removed in the same transaction.
--
-- doc: { records: [{ o: organization id, p: prefix, s: suffix }], opened: [open-call rows], closed: [call ids],
--        superseding: [call ids whose outcome is already marked supersedesInterrupted] }
-- An outcome whose open-call row is gone was recorded `interrupted` by another replica meanwhile: unless the caller
-- marked it, nothing is written and SQLSTATE GHA01 names those calls, so the caller marks them and writes again.
-- Every table it reads is read by key. audit_open_calls holds few live rows and many dead ones (a row per call in
-- flight, inserted and deleted within the call) until autovacuum comes by, so a plan cached while it was small would
-- scan every dead row of it on each call: sequential scans are off inside the function.
CREATE FUNCTION gatehouse_audit_append(doc jsonb) RETURNS void LANGUAGE plpgsql SET enable_seqscan = off AS $fn$
DECLARE
  closing uuid[] := ARRAY(SELECT jsonb_array_elements_text(doc->'closed')::uuid);
  unheard uuid[];
  org uuid;
  head_seq bigint;
  head_hash text;
  item record;
  docs jsonb[] := '{}';
  seqs bigint[] := '{}';
  prevs text[] := '{}';
  hashes text[] := '{}';
  chained_text text;
BEGIN
  IF cardinality(closing) > 0 THEN
    WITH closed AS (DELETE FROM audit_open_calls WHERE call_id = ANY (closing) RETURNING call_id)
    SELECT ARRAY(
      SELECT c FROM unnest(closing) AS c
      WHERE c NOT IN (SELECT call_id FROM closed) AND c::text NOT IN (SELECT jsonb_array_elements_text(doc->'superseding'))
    ) INTO unheard;
    IF cardinality(unheard) > 0 THEN
      RAISE EXCEPTION 'outcomes of calls recorded as interrupted meanwhile' USING ERRCODE = 'GHA01', DETAIL = array_to_string(unheard, ',');
    END IF;
  END IF;

  INSERT INTO audit_open_calls (call_id, organization_id, instance_id, request_event_id, actor, target, trace_id, started_at)
  SELECT o.call_id, o.organization_id, o.instance_id, o.request_event_id, o.actor, o.target, o.trace_id, o.started_at
  FROM jsonb_to_recordset(doc->'opened') AS o(call_id uuid, organization_id uuid, instance_id text,
    request_event_id uuid, actor jsonb, target jsonb, trace_id text, started_at timestamp(3));

  -- Organizations in a fixed order, so that two writers never wait on each other's locks in a cycle.
  FOR org IN SELECT DISTINCT (r->>'o')::uuid FROM jsonb_array_elements(doc->'records') AS r ORDER BY 1 LOOP
    PERFORM pg_advisory_xact_lock(1096107081, hashtext(org::text));
    -- A statement of its own after the lock: it sees what the previous holder committed.
    SELECT a.seq, a.hash INTO head_seq, head_hash
    FROM audit_records a WHERE a.organization_id = org AND a.seq IS NOT NULL ORDER BY a.seq DESC LIMIT 1;
    IF NOT FOUND THEN
      head_seq := 0;
      head_hash := 'genesis:' || org::text;
    END IF;
    FOR item IN
      SELECT r->>'p' AS p, r->>'s' AS s FROM jsonb_array_elements(doc->'records') WITH ORDINALITY AS x(r, n)
      WHERE (r->>'o')::uuid = org ORDER BY n
    LOOP
      head_seq := head_seq + 1;
      chained_text := item.p || head_seq::text || item.s;
      docs := docs || chained_text::jsonb;
      seqs := seqs || head_seq;
      prevs := prevs || head_hash;
      head_hash := encode(sha256(convert_to(head_hash || E'\n' || chained_text, 'UTF8')), 'hex');
      hashes := hashes || head_hash;
    END LOOP;
  END LOOP;

  INSERT INTO audit_records (organization_id, event_id, seq, occurred_at, kind, actor, target, outcome, trace_id, data, call_id,
    prev_hash, hash, chained_at)
  SELECT (l.j->>'organizationId')::uuid, (l.j->>'eventId')::uuid, l.seq, (l.j->>'occurredAt')::timestamptz AT TIME ZONE 'UTC',
    l.j->>'kind', l.j->'actor', NULLIF(l.j->'target', 'null'::jsonb), l.j->>'outcome', l.j->>'traceId', l.j->'data',
    (l.j->>'callId')::uuid, l.prev, l.hash, clock_timestamp() AT TIME ZONE 'UTC'
  FROM unnest(docs, seqs, prevs, hashes) WITH ORDINALITY AS l(j, seq, prev, hash, n)
  ORDER BY l.n;
END
$fn$;
