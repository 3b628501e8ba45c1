-- Likely matches that were not merged, for a person to decide: scored high enough to be worth a
-- look, but below the merge threshold, without personal evidence, in conflict, or dropped so as
-- not to chain two people. Only pairs touching this upload, and not those a person already decided
-- to keep apart (decided_apart: refinery unmerge, refinery review apply).
SELECT
    cl.record_key AS record_key_l,
    cr.record_key AS record_key_r,
    pl.person_id AS person_id_l,
    pr.person_id AS person_id_r,
    round(j.match_probability, 6) AS match_probability,
    CASE
        WHEN j.conflict THEN 'conflict: names or addresses say two people'
        WHEN j.names_below_threshold THEN 'names agree, but too uncertain for a merge on names alone'
        WHEN NOT j.evidence THEN 'no personal evidence: only a shared company, phone or namesake'
        WHEN j.match_probability < $threshold THEN 'below the merge threshold'
        ELSE 'not merged to avoid chaining two people'
    END AS reason
FROM judged AS j
JOIN persons AS pl ON pl.uid = j.uid_l
JOIN persons AS pr ON pr.uid = j.uid_r
JOIN combined AS cl ON cl.uid = j.uid_l
JOIN combined AS cr ON cr.uid = j.uid_r
WHERE pl.person_id <> pr.person_id AND (cl.is_new OR cr.is_new)
  AND NOT EXISTS (SELECT 1 FROM decided_apart AS d
                  WHERE d.uid_l = least(j.uid_l, j.uid_r) AND d.uid_r = greatest(j.uid_l, j.uid_r))
ORDER BY j.match_probability DESC, record_key_l, record_key_r
