"""Clustering that cannot chain two people together through one weak link.

Connected components over the merging edges are transitive: A~B and B~C put A with C even when
A and C are plainly two people (different first names, two addresses at one company). For every
component that holds such a conflicting pair, the component is rebuilt greedily from its
strongest edges, refusing any edge that would put two conflicting rows in one cluster (a
cannot-link constraint). Components without conflicts (nearly all) keep connected components.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from sql import load_sql


@dataclass(frozen=True)
class ClusterResult:
    clusters: pa.Table  # row_number, cluster_id (smallest row number of the cluster), match_probability
    merging_edges: pa.Table  # row_number_l, row_number_r, match_probability actually used
    components_split: int


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)
        return min(ra, rb)


def judge_pairs(con: duckdb.DuckDBPyConnection, pairs: pa.Table) -> pa.Table:
    """Run sql/merge_guard.sql on `pairs` (row_number_l, row_number_r, match_probability);
    the `contacts` linkage input must be registered on `con`."""
    con.register("pairs_to_judge", pairs)
    try:
        return con.sql(load_sql("merge_guard")).to_arrow_table()
    finally:
        con.unregister("pairs_to_judge")


def constrained_clusters(
    con: duckdb.DuckDBPyConnection, row_numbers: pa.Array, edges: pa.Table
) -> ClusterResult:
    """Clusters from merging `edges`, split where connected components would join conflicting rows."""
    uf = _UnionFind()
    for a, b in zip(edges.column("row_number_l").to_pylist(), edges.column("row_number_r").to_pylist()):
        uf.union(a, b)
    members: dict[int, list[int]] = {}
    for r in {*edges.column("row_number_l").to_pylist(), *edges.column("row_number_r").to_pylist()}:
        members.setdefault(uf.find(r), []).append(r)

    # Every pair inside each multi-row component, judged for hard conflicts in one SQL pass.
    comp_rows = [(root, r) for root, rows in members.items() if len(rows) > 2 for r in rows]
    conflicts: set[tuple[int, int]] = set()
    if comp_rows:
        con.register("components", pa.table({"component": [c for c, _ in comp_rows], "row_number": [r for _, r in comp_rows]}))
        inner = con.sql(
            """SELECT a.row_number AS row_number_l, b.row_number AS row_number_r, 1.0 AS match_probability
               FROM components a JOIN components b ON a.component = b.component AND a.row_number < b.row_number"""
        ).to_arrow_table()
        con.unregister("components")
        judged = judge_pairs(con, inner)
        flagged = judged.filter(pc.fill_null(judged.column("conflict").cast(pa.bool_()), False))
        conflicts = set(zip(flagged.column("row_number_l").to_pylist(), flagged.column("row_number_r").to_pylist()))

    bad_roots = {uf.find(a) for a, _ in conflicts}
    keep = [True] * edges.num_rows
    split = 0
    if bad_roots:
        split = len(bad_roots)
        uf2 = _UnionFind()
        sets: dict[int, set[int]] = {}
        lefts, rights = edges.column("row_number_l").to_pylist(), edges.column("row_number_r").to_pylist()
        probs = edges.column("match_probability").to_pylist()
        order = sorted(
            (i for i in range(edges.num_rows) if uf.find(lefts[i]) in bad_roots), key=lambda i: -probs[i]
        )
        for i in order:
            keep[i] = False
        for i in order:  # strongest first; refuse an edge that joins two conflicting rows
            a, b = uf2.find(lefts[i]), uf2.find(rights[i])
            if a == b:
                keep[i] = True
                continue
            sa, sb = sets.get(a, {a}), sets.get(b, {b})
            if any((min(x, y), max(x, y)) in conflicts for x in sa for y in sb):
                continue
            root = uf2.union(a, b)
            sets[root] = sa | sb
            keep[i] = True
        uf = _UnionFind()
        for i in range(edges.num_rows):
            if keep[i]:
                uf.union(lefts[i], rights[i])
    used = edges.filter(pa.array(keep, pa.bool_()))
    rows = row_numbers.to_pylist()
    cluster = [uf.find(r) for r in rows]
    con.register("used_edges", used)
    con.register("nodes", pa.table({"row_number": rows, "cluster_id": cluster}))
    clusters = con.sql(load_sql("cluster_rows")).to_arrow_table()
    con.unregister("used_edges")
    con.unregister("nodes")
    return ClusterResult(clusters=clusters, merging_edges=used, components_split=split)
