"""The same file gives the same clusters, ids and reports every time (issue #14, part 4)."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from pipelines.clustering import constrained_clusters
from tests.test_linkage_guard import _contacts


def test_equally_strong_links_are_taken_in_record_order():
    # "J. Petit" links to Jade and to Julien Petit with the same probability; Jade and Julien are
    # two people, so one link must go. Which one used to depend on the order the pairs came out
    # of DuckDB's joins; now the link with the smaller record ids wins, whatever the order.
    rows = [
        {"uid": 1, "first_name_key": "jade", "last_name_key": "petit", "company_key": "bfo"},
        {"uid": 2, "first_name_key": "j", "last_name_key": "petit", "company_key": "bfo"},
        {"uid": 3, "first_name_key": "julien", "last_name_key": "petit", "company_key": "bfo"},
    ]
    outcomes = []
    for lefts, rights in (([1, 2], [2, 3]), ([2, 1], [3, 2])):
        con = duckdb.connect()
        con.register("contacts", _contacts(rows))
        edges = pa.table({"uid_l": pa.array(lefts, pa.int64()), "uid_r": pa.array(rights, pa.int64()),
                          "match_probability": pa.array([0.97, 0.97], pa.float64())})
        result = constrained_clusters(con, pa.array([1, 2, 3], pa.int64()), edges)
        outcomes.append(result.clusters.column("cluster").to_pylist())
        con.close()
    assert outcomes[0] == outcomes[1] == [1, 1, 3]
