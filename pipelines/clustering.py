"""Clustering that cannot chain two people together through one weak link.

Connected components over the merging edges are transitive: A~B and B~C put A with C even when
A and C are plainly two people (different first names, two addresses at one company). For every
component that holds such a conflicting pair, or a pair a person kept apart (`refinery unmerge`),
the component is rebuilt greedily from its strongest edges, refusing any edge that would put two
conflicting records in one cluster (a cannot-link constraint). Components without conflicts
(nearly all) keep plain connected components. Records already known to be one person (the
controller's master data) start out together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from sql import load_sql


@dataclass(frozen=True)
class ClusterResult:
    clusters: pa.Table  # uid, cluster (smallest uid of the cluster), match_probability
    merging_edges: pa.Table  # uid_l, uid_r, match_probability actually used
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


# A pair whose only evidence is names (no shared e-mail, profile or mobile) merges from
# NAMES_MATCH_THRESHOLD when a job title is missing, from NAMES_SAME_ROLE_THRESHOLD (any merging
# probability) with the same job title, from NAMES_OTHER_ROLE_THRESHOLD with two different titles
# (namesakes at one company hold different roles). An identifier is evidence at any probability
# the linkage merges at. Measured on the 1M benchmark file (judged pairs of one run, the guard and
# clustering replayed): LARGE_COMPANY_ROWS 3,000 gave P 0.9955 / R 0.9351 (1,000: P 0.9970 /
# R 0.9199, none: P 0.9940 / R 0.9382, both with the same-title threshold at 0.9; 0.8 rather
# than 0.9 there: R +0.0020, P -0.0001).
NAMES_MATCH_THRESHOLD = 0.95
NAMES_SAME_ROLE_THRESHOLD = 0.8
NAMES_OTHER_ROLE_THRESHOLD = 0.99
# Without the same job title, names alone are no evidence at a company with this many contacts
# in the file (uploads and master): namesakes there are too many.
LARGE_COMPANY_ROWS = 3000


def judge_pairs(con: duckdb.DuckDBPyConnection, pairs: pa.Table) -> pa.Table:
    """Run sql/merge_guard.sql on `pairs` (uid_l, uid_r, match_probability); the linkage input
    must be registered on `con` as `contacts`. Adds boolean `evidence`, `conflict` and
    `names_below_threshold`."""
    con.register("pairs_to_judge", pairs)
    try:
        sql = (load_sql("merge_guard").replace("$names_threshold", repr(NAMES_MATCH_THRESHOLD))
               .replace("$names_other_role_threshold", repr(NAMES_OTHER_ROLE_THRESHOLD))
               .replace("$names_same_role_threshold", repr(NAMES_SAME_ROLE_THRESHOLD))
               .replace("$large_company_rows", str(LARGE_COMPANY_ROWS)))
        judged = con.sql(sql).to_arrow_table()
    finally:
        con.unregister("pairs_to_judge")
    evidence = pc.fill_null(judged.column("evidence").cast(pa.bool_()), False)
    conflict = pc.fill_null(judged.column("conflict").cast(pa.bool_()), False)
    return judged.set_column(judged.schema.get_field_index("evidence"), "evidence", evidence).set_column(
        judged.schema.get_field_index("conflict"), "conflict", conflict
    )


def _pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def constrained_clusters(
    con: duckdb.DuckDBPyConnection,
    uids: pa.Array,
    edges: pa.Table,
    known_groups: Iterable[list[int]] = (),
    cannot_link: Iterable[tuple[int, int]] = (),
    base_cluster: pa.Array | pa.ChunkedArray | None = None,
) -> ClusterResult:
    """Clusters from merging `edges` (uid_l, uid_r, match_probability), starting from
    `known_groups` (records already one person), split where components would join records
    that conflict or that `cannot_link` keeps apart. `base_cluster` (aligned with `uids`) is the
    cluster of a record that no edge or group given here touches (default: its own uid); values
    must not collide with the uids that are given."""
    groups = [g for g in known_groups if len(g) > 1]
    lefts, rights = edges.column("uid_l").to_pylist(), edges.column("uid_r").to_pylist()
    probs = edges.column("match_probability").to_pylist()
    uf = _UnionFind()
    for g in groups:
        for x in g[1:]:
            uf.union(g[0], x)
    for a, b in zip(lefts, rights):
        uf.union(a, b)
    members: dict[int, list[int]] = {}
    for r in {*lefts, *rights, *(x for g in groups for x in g)}:
        members.setdefault(uf.find(r), []).append(r)

    conflicts = {_pair(a, b) for a, b in cannot_link if uf.find(a) == uf.find(b)}
    # Every pair inside each component of 3+ records, judged for hard conflicts in one SQL pass.
    # (A component of two was joined by one edge the guard already judged.)
    comp_rows = [(root, r) for root, rows in members.items() if len(rows) > 2 for r in rows]
    if comp_rows:
        con.register(
            "components",
            pa.table({"component": [c for c, _ in comp_rows], "uid": [r for _, r in comp_rows]}),
        )
        inner = con.sql(
            """SELECT a.uid AS uid_l, b.uid AS uid_r, 1.0 AS match_probability
               FROM components a JOIN components b ON a.component = b.component AND a.uid < b.uid"""
        ).to_arrow_table()
        con.unregister("components")
        judged = judge_pairs(con, inner).filter(pc.field("conflict"))
        conflicts |= set(zip(judged.column("uid_l").to_pylist(), judged.column("uid_r").to_pylist()))
        # Records a past batch already merged stay together (an unmerge removes them from a group).
        group_of = {x: i for i, g in enumerate(groups) for x in g}
        conflicts = {p for p in conflicts if group_of.get(p[0], -1) != group_of.get(p[1], -2)}

    keep = [True] * edges.num_rows
    bad_roots = {uf.find(a) for a, _ in conflicts}
    if bad_roots:
        rebuilt = _UnionFind()
        sets: dict[int, set[int]] = {}
        for g in groups:
            if uf.find(g[0]) in bad_roots:
                for x in g[1:]:
                    rebuilt.union(g[0], x)
                sets[rebuilt.find(g[0])] = set(g)
        order = sorted((i for i in range(edges.num_rows) if uf.find(lefts[i]) in bad_roots), key=lambda i: -probs[i])
        for i in order:  # strongest first; refuse an edge that joins two conflicting records
            a, b = rebuilt.find(lefts[i]), rebuilt.find(rights[i])
            if a == b:
                continue
            sa, sb = sets.get(a, {a}), sets.get(b, {b})
            if any(_pair(x, y) in conflicts for x in sa for y in sb):
                keep[i] = False
                continue
            sets[rebuilt.union(a, b)] = sa | sb
        uf = _UnionFind()
        for g in groups:
            for x in g[1:]:
                uf.union(g[0], x)
        for i in range(edges.num_rows):
            if keep[i]:
                uf.union(lefts[i], rights[i])
    used = edges.filter(pa.array(keep, pa.bool_()))
    # Union-find is sequential by nature, so it runs in Python, but only over the records an edge
    # or a known group touches; every other record's cluster comes from `base_cluster` in SQL.
    touched = sorted({*lefts, *rights, *(x for g in groups for x in g)})
    roots = pa.table({"uid": pa.array(touched, pa.int64()), "root": pa.array([uf.find(r) for r in touched], pa.int64())})
    base = uids if base_cluster is None else base_cluster
    con.register("used_edges", used)
    con.register("node_roots", roots)
    con.register("node_base", pa.table({"uid": uids, "base": base}))
    try:
        con.execute("CREATE OR REPLACE TEMP VIEW nodes AS SELECT b.uid, coalesce(r.root, b.base) AS cluster "
                    "FROM node_base AS b LEFT JOIN node_roots AS r USING (uid)")
        clusters = con.sql(load_sql("cluster_rows")).to_arrow_table()
    finally:
        con.execute("DROP VIEW IF EXISTS nodes")
        con.unregister("used_edges")
        con.unregister("node_roots")
        con.unregister("node_base")
    return ClusterResult(clusters=clusters, merging_edges=used, components_split=len(bad_roots))
