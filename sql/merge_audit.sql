-- The merge audit: every link that merged a record of this upload, with the probability and the
-- comparison levels (and their match weights) that decided it. Links between records of earlier
-- batches were audited when they were made.
SELECT
    cl.record_key AS record_key_l,
    cr.record_key AS record_key_r,
    pl.person_id,
    round(e.match_probability, 6) AS match_probability,
    CASE WHEN EXISTS (SELECT 1 FROM decided_same AS d
                      WHERE d.uid_l = least(e.uid_l, e.uid_r) AND d.uid_r = greatest(e.uid_l, e.uid_r))
         THEN 'decided: same person (refinery review apply)'
         ELSE $comparison_labels END AS comparisons
FROM used_edges AS e
JOIN combined AS cl ON cl.uid = e.uid_l
JOIN combined AS cr ON cr.uid = e.uid_r
JOIN persons AS pl ON pl.uid = e.uid_l
LEFT JOIN predictions AS p ON p.uid_l = e.uid_l AND p.uid_r = e.uid_r
WHERE cl.is_new OR cr.is_new
ORDER BY pl.person_id, record_key_l, record_key_r
