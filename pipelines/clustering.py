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

from pipelines.fields.jobs import classify_job_titles
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
# NAMES_SAME_ROLE_THRESHOLD with the same job title (typed alike, or one role in two languages by
# the job classifier), from NAMES_MATCH_THRESHOLD when a title is missing, from
# NAMES_OTHER_ROLE_THRESHOLD with two different titles (namesakes at one company hold different
# roles) and then only on names that agree exactly (not an initial or a typo). At a company with
# LARGE_COMPANY_ROWS contacts or more (uploads and master), namesakes abound: there a missing title
# needs NAMES_LARGE_COMPANY_THRESHOLD and two titles never merge on names. Names with a doubt (the
# name known to be two people at the company, a missing first name where the surname goes with
# several, a missing surname) need the same title and NAMES_DOUBTFUL_THRESHOLD, or a missing title
# and NAMES_DOUBTFUL_UNKNOWN_ROLE_THRESHOLD; the same name and title under two company names the
# company rules do not match, NAMES_OTHER_COMPANY_THRESHOLD. An identifier is evidence at any
# probability the linkage merges at (linkage.MATCH_THRESHOLD).
# Chosen on the judged pairs of the 1M benchmark file, guard and clustering replayed with
# bench/replay_guard.py (the previous settings there: P 0.9954 / R 0.9361): these give P 0.9951 /
# R 0.9501 (100k: P 0.9987 / R 0.9593). Steps, recall / false pairs at 1M: titles compared
# across languages +0.0038 / +85; the large-company bar from 3,000 to 6,000 rows +0.0014 / +122
# (5,000: +0.0011 / +78, 8,000: +0.0019 / +223).
NAMES_MATCH_THRESHOLD = 0.9
NAMES_SAME_ROLE_THRESHOLD = 0.7
NAMES_OTHER_ROLE_THRESHOLD = 0.9999
LARGE_COMPANY_ROWS = 6000
NAMES_LARGE_COMPANY_THRESHOLD = 0.9999
NAMES_DOUBTFUL_THRESHOLD = 0.99
NAMES_DOUBTFUL_UNKNOWN_ROLE_THRESHOLD = 0.9999
NAMES_OTHER_COMPANY_THRESHOLD = 0.9
# A pair that shares a person detail (date of birth up to a typo, postal address, national or
# client id) merges from the merge threshold itself (linkage.MATCH_THRESHOLD): no bar of its own.
# FEBRL1-4's F1 is the same from 0.7 to 0.99 (0.998 / 0.9909 / 0.9842-0.9841 / 0.9963, P 1.0).
DETAILS_THRESHOLD = 0.7


def job_roles(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """job_title_key -> job_level, job_function of every distinct title in `contacts`, by the
    enrichment's classifier (pipelines/fields/jobs.py): "Directeur commercial" and "Sales
    Director" are one role in two languages. Classified once per distinct title."""
    titles = con.sql("SELECT DISTINCT job_title_key FROM contacts WHERE job_title_key IS NOT NULL").to_arrow_table()
    level, function = classify_job_titles(titles.column(0))
    return titles.append_column("job_level", level).append_column("job_function", function)


def judge_pairs(con: duckdb.DuckDBPyConnection, pairs: pa.Table) -> pa.Table:
    """Run sql/merge_guard.sql on `pairs` (uid_l, uid_r, match_probability); the linkage input
    must be registered on `con` as `contacts`. Adds boolean `evidence`, `conflict` and
    `names_below_threshold`."""
    con.register("pairs_to_judge", pairs)
    con.register("job_roles", job_roles(con))
    try:
        sql = (load_sql("merge_guard").replace("$names_threshold", repr(NAMES_MATCH_THRESHOLD))
               .replace("$names_other_role_threshold", repr(NAMES_OTHER_ROLE_THRESHOLD))
               .replace("$details_threshold", repr(DETAILS_THRESHOLD))
               .replace("$names_same_role_threshold", repr(NAMES_SAME_ROLE_THRESHOLD))
               .replace("$large_company_rows", str(LARGE_COMPANY_ROWS))
               .replace("$names_large_company_threshold", repr(NAMES_LARGE_COMPANY_THRESHOLD))
               .replace("$names_doubtful_threshold", repr(NAMES_DOUBTFUL_THRESHOLD))
               .replace("$names_doubtful_unknown_role_threshold", repr(NAMES_DOUBTFUL_UNKNOWN_ROLE_THRESHOLD))
               .replace("$names_other_company_threshold", repr(NAMES_OTHER_COMPANY_THRESHOLD)))
        judged = con.sql(sql).to_arrow_table()
    finally:
        con.unregister("pairs_to_judge")
        con.unregister("job_roles")
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
    decided_same: Iterable[tuple[int, int]] = (),
) -> ClusterResult:
    """Clusters from merging `edges` (uid_l, uid_r, match_probability), starting from
    `known_groups` (records already one person), split where components would join records
    that conflict or that `cannot_link` keeps apart (`decided_same` pairs are never a conflict). `base_cluster` (aligned with `uids`) is the
    cluster of a record that no edge or group given here touches (default: its own uid); values
    must not collide with the uids that are given."""
    groups = [g for g in known_groups if len(g) > 1]
    # The greedy rebuild below takes edges strongest first, and which of two equally strong edges
    # comes first decides which records end up together. Edges arrive in whatever order DuckDB's
    # multi-threaded joins produced them (a different order from one run to the next), and many
    # pairs tie (every exact copy scores the same), so the order is fixed here: strongest first,
    # ties by record ids. One vectorised sort; the rebuild then keeps this order.
    edges = edges.sort_by([("match_probability", "descending"), ("uid_l", "ascending"), ("uid_r", "ascending")])
    lefts, rights = edges.column("uid_l").to_pylist(), edges.column("uid_r").to_pylist()
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
        # A pair a person decided is one person (review `same`) is no conflict, whatever its
        # names say; a decision to keep two records apart (cannot_link) still is.
        conflicts -= {_pair(a, b) for a, b in decided_same} - {_pair(a, b) for a, b in cannot_link}

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
        # Edges are sorted strongest first, ties by record ids (above): the same order every run.
        order = [i for i in range(edges.num_rows) if uf.find(lefts[i]) in bad_roots]
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
