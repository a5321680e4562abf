-- How many times a job was taken back from a worker that stopped (lease expired, or its process
-- gone at another worker's start-up). A take-back gives the attempt back: a worker killed by its
-- host, an operator or a deployment says nothing about the document. It is counted here instead,
-- and the job is given up only after `[worker] max_takebacks` of them (a document that somehow
-- kills whole workers must not loop forever).
ALTER TABLE jobs ADD COLUMN takebacks INTEGER NOT NULL DEFAULT 0;
