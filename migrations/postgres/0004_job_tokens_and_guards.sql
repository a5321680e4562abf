-- Each claim of a job gets its own random token; every later change of the job presents it.
ALTER TABLE jobs ADD COLUMN lease_token TEXT;
-- Earlier attempts whose reader crashed or hung: two of them fail the document for good.
ALTER TABLE jobs ADD COLUMN crashes INTEGER NOT NULL DEFAULT 0;
-- The document state a job was queued for: it may move the document only from that state.
ALTER TABLE jobs ADD COLUMN for_state TEXT NOT NULL DEFAULT 'received';
-- At most one open job per document and stage (start-up backfills run on every worker at once).
CREATE UNIQUE INDEX jobs_one_open ON jobs(document_id, stage) WHERE status IN ('queued', 'running');
-- Running jobs taken before tokens existed: give them one so their holder's guard still matches
-- nothing and the reaper takes them back when their lease ends.
UPDATE jobs SET lease_token = 'pre-token-' || CAST(id AS TEXT) WHERE status = 'running';
-- Earlier versions wrote a promise into every read document's history; it is no longer true.
UPDATE document_events
   SET reason = REPLACE(reason, '; waiting for duplicate detection, which this version does not have yet', '')
 WHERE reason LIKE '%waiting for duplicate detection%';
UPDATE documents
   SET reason = REPLACE(reason, '; waiting for duplicate detection, which this version does not have yet', '')
 WHERE reason LIKE '%waiting for duplicate detection%';
