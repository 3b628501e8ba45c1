-- Stable person ids. A cluster holding records of earlier batches keeps the oldest person id among
-- them (when a new record shows two known persons are one, the younger id is absorbed, and the
-- merge audit says so). A cluster of new records only takes back the id its records had when this
-- same upload was processed before (a re-run gives the same ids), else the next free ids, in order.
WITH c AS (
    SELECT cl.uid, cl.cluster, r.person_id, r.prior_person_id
    FROM clusters AS cl JOIN combined AS r USING (uid)
),
known AS (
    SELECT cluster, min(person_id) AS person_id FROM c WHERE person_id IS NOT NULL GROUP BY cluster
),
taken AS (
    SELECT DISTINCT person_id FROM c WHERE person_id IS NOT NULL
),
unknown AS (
    SELECT cluster, min(uid) AS first_uid, min(prior_person_id) AS prior_id
    FROM c GROUP BY cluster HAVING count(person_id) = 0
),
reused AS (
    -- an earlier id comes back only once, and only if no known person holds it now
    SELECT cluster, prior_id AS person_id
    FROM (
        SELECT cluster, prior_id, row_number() OVER (PARTITION BY prior_id ORDER BY first_uid) AS k
        FROM unknown WHERE prior_id IS NOT NULL AND prior_id NOT IN (SELECT person_id FROM taken)
    )
    WHERE k = 1
),
fresh AS (
    SELECT u.cluster, row_number() OVER (ORDER BY u.first_uid) - 1 + $next_person AS n
    FROM unknown AS u ANTI JOIN reused AS r USING (cluster)
)
SELECT
    c.uid,
    coalesce(k.person_id, r.person_id, 'P' || lpad(f.n::VARCHAR, 7, '0')) AS person_id,
    c.person_id AS previous_person_id
FROM c
LEFT JOIN known AS k USING (cluster)
LEFT JOIN reused AS r USING (cluster)
LEFT JOIN fresh AS f USING (cluster)
ORDER BY c.uid
