-- One row per record: its cluster (named after its smallest uid, so ids are deterministic) and
-- the strongest merging link it takes part in.
WITH ends AS (
    SELECT uid_l AS uid, match_probability FROM used_edges
    UNION ALL
    SELECT uid_r AS uid, match_probability FROM used_edges
),
best AS (
    SELECT uid, max(match_probability) AS match_probability FROM ends GROUP BY uid
)
SELECT
    n.uid,
    min(n.uid) OVER (PARTITION BY n.cluster) AS cluster,
    b.match_probability
FROM nodes AS n
LEFT JOIN best AS b USING (uid)
ORDER BY n.uid
