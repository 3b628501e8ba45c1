-- One row per contact: its cluster and the strongest merging link it takes part in.
-- Splink names a cluster after one of its rows; the smallest row number makes the id deterministic.
WITH ends AS (
    SELECT row_number_l AS row_number, match_probability FROM edges
    UNION ALL
    SELECT row_number_r AS row_number, match_probability FROM edges
),
best AS (
    SELECT row_number, max(match_probability) AS match_probability FROM ends GROUP BY row_number
)
SELECT
    c.row_number,
    min(c.row_number) OVER (PARTITION BY c.cluster_id) AS cluster_id,
    b.match_probability
FROM clustered AS c
LEFT JOIN best AS b USING (row_number)
ORDER BY c.row_number
