-- One row per contact: its cluster (named after its smallest row number, so ids are
-- deterministic) and the strongest merging link it takes part in.
WITH ends AS (
    SELECT row_number_l AS row_number, match_probability FROM used_edges
    UNION ALL
    SELECT row_number_r AS row_number, match_probability FROM used_edges
),
best AS (
    SELECT row_number, max(match_probability) AS match_probability FROM ends GROUP BY row_number
)
SELECT
    n.row_number,
    min(n.row_number) OVER (PARTITION BY n.cluster_id) AS cluster_id,
    b.match_probability
FROM nodes AS n
LEFT JOIN best AS b USING (row_number)
ORDER BY n.row_number
