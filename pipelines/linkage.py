"""Linkage stage: deduplicate one upload with Splink 5 on DuckDB and cluster the matches.

Small uploads cannot train a model, so a trained default model ships with the package
(pipelines/data/linkage_model.json, made by bench/train_default_model.py); uploads with
enough rows train their own, starting from the same settings.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from pipelines import clustering, duckdb_config, linkage_model, progress
from pipelines.master import Master, person_numbers, record_keys
from sql import load_sql

log = logging.getLogger(__name__)

# Below this many rows EM has too few pairs to estimate anything: use the shipped model.
MIN_ROWS_TO_TRAIN = 20_000
# A file with person details the reused model does not compare (dates of birth, addresses,
# national ids: the shipped model is trained on generated B2B data, which has none) trains its
# own model from this many rows: EM estimates them from the file (FEBRL1, 1,000 rows, trains).
MIN_ROWS_TO_TRAIN_DETAILS = 500
# Pairs at or above this probability may merge, lower ones never do: below
# clustering.NAMES_MATCH_THRESHOLD only with an identifier (e-mail, profile, mobile) or names with
# the same job title (clustering.NAMES_SAME_ROLE_THRESHOLD). Measured at 1M (bench/replay_guard.py),
# pairs from 0.7 to 0.8 with names and one title were one person 475 times of 515.
MATCH_THRESHOLD = 0.7
# Pairs scored below this are not even kept (they cannot merge and would only cost memory).
PREDICT_THRESHOLD = 0.5


# Random record pairs drawn to estimate u (how often two different people agree by chance).
U_SAMPLE_PAIRS = 2e6

# Scored pairs from this probability up that do not merge are written to the review file.
REVIEW_THRESHOLD = 0.7


@dataclass(frozen=True)
class UploadLinkage:
    linked: pa.Table  # this upload's rows in row order: enriched fields + person_id, match_probability
    records: pa.Table  # the controller's master records after this upload (all batches)
    merges: pa.Table  # audit: every merging link touching this upload, with the comparisons behind it
    review: pa.Table  # pairs a person should decide: likely matches that were not merged, and why
    next_person: int
    model: dict[str, Any]
    trained: bool
    pairs_scored: int
    pairs_matched: int
    components_split: int
    persons_absorbed: int
    training: dict[str, Any]

def default_model() -> dict[str, Any]:
    text = resources.files("pipelines").joinpath("data/linkage_model.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def nickname_table() -> pa.Table:
    """nick -> canonical first-name key, from pipelines/data/nicknames.yaml; ambiguous short forms
    (listed under several names, like "alex") are left out."""
    text = resources.files("pipelines").joinpath("data/nicknames.yaml").read_text("utf-8")
    canon_of: dict[str, set[str]] = {}
    for names in yaml.safe_load(text).values():
        for canon, nicks in names.items():
            for nick in nicks:
                canon_of.setdefault(str(nick), set()).add(str(canon))
    pairs = sorted((nick, next(iter(c))) for nick, c in canon_of.items() if len(c) == 1)
    return pa.table({"nick": [p[0] for p in pairs], "canon": [p[1] for p in pairs]})


def linkage_input(con: duckdb.DuckDBPyConnection, enriched: pa.Table) -> pa.Table:
    """The columns the model compares, derived in SQL from the enriched contacts."""
    from pipelines.headers import PERSON_DETAIL_FIELDS

    # Records kept before person details were standardised lack their columns: null there.
    for name in PERSON_DETAIL_FIELDS:
        if name not in enriched.column_names:
            enriched = enriched.append_column(name, pa.nulls(enriched.num_rows, pa.string()))
    con.register("enriched", enriched)
    con.register("nicknames", nickname_table())
    try:
        return con.sql(load_sql("linkage_input")).to_arrow_table()
    finally:
        con.unregister("enriched")
        con.unregister("nicknames")


class TrainingError(RuntimeError):
    """Training did not produce a model fit to use (no convergence, or parameters that make no sense)."""


def train_model(linker: Any, fields: frozenset[str] | None = None) -> dict[str, Any]:
    """Train and check: every EM session must converge before its iteration cap (Splink logs
    "converged" even when it merely hit the cap), and the trained weights must be sane. `fields`:
    the optional fields the model compares (linkage_model.fields_present; None: B2B)."""
    training = linker.training
    training.estimate_probability_two_random_records_match(
        linkage_model.deterministic_rules(fields), recall=linkage_model.DETERMINISTIC_RECALL
    )
    training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=42)
    cap = linkage_model.settings_dict()["max_iterations"]
    sessions = []
    with _single_threaded(linker):
        for rule in linkage_model.em_blocking_rules(fields):
            session = training.estimate_parameters_using_expectation_maximisation(rule, max_pairs=2e6)
            iterations = len(getattr(session, "_core_model_settings_history", [])) - 1
            sessions.append({"blocked_on": rule, "iterations": iterations, "converged": 0 <= iterations < cap})
    # Levels training never observed. Splink stores no value for them (null in the saved model,
    # read as "no evidence" and scored with defaults on reuse). u: random sampling draws about
    # U_SAMPLE_PAIRS pairs; an agreement only the same person makes (one LinkedIn profile: 50k
    # pairs among 5e11 at 1M rows) is never drawn in a large file, and zero agreements in N pairs
    # put u below 3/N (rule of three, 95 %): strong but finite evidence. m: a level no true pair
    # showed carries no evidence either way, so m = u (weight 0) rather than Splink's 1e-6 (a veto).
    from splink.internals.constants import LEVEL_NOT_OBSERVED_TEXT

    unobserved = []
    # Splink 5 has no public setter for one level's m or u: its settings object is the model.
    for comparison in linker._settings_obj.comparisons:
        for level in comparison._comparison_levels_excluding_null:
            name = f"{comparison.output_column_name}: {level.label_for_charts}"
            if level._u_probability in (None, LEVEL_NOT_OBSERVED_TEXT):
                level.u_probability = 3.0 / U_SAMPLE_PAIRS
                unobserved.append(f"{name} (u)")
            if level._m_probability in (None, LEVEL_NOT_OBSERVED_TEXT):
                level.m_probability = level.u_probability
                unobserved.append(f"{name} (m)")
    # A level closer than total disagreement is no stronger evidence against a match than it: EM
    # gives a level the file's true pairs never reach an m near 0 (the one-typo local part on the
    # generated files: -37 bits, a veto), so such a level gets the 'else' level's weight.
    clamped = []
    for comparison in linker._settings_obj.comparisons:
        levels = comparison._comparison_levels_excluding_null
        last = levels[-1]
        if not last._is_else_level or not last.m_probability or not last.u_probability:
            continue
        ratio = last.m_probability / last.u_probability
        for level in levels[:-1]:
            if level.m_probability is not None and level.u_probability and level.m_probability / level.u_probability < ratio:
                level.m_probability = min(1.0, level.u_probability * ratio)
                clamped.append(f"{comparison.output_column_name}: {level.label_for_charts}")
    model = linker.misc.save_model_to_json()
    problems = [f"EM blocked on {s['blocked_on']} hit the cap of {cap} iterations" for s in sessions if not s["converged"]]
    problems += model_problems(model)
    if problems:
        raise TrainingError("; ".join(problems))
    return {"sessions": sessions, "unobserved_levels": unobserved, "clamped_levels": clamped}


@contextmanager
def _single_threaded(linker: Any) -> Iterator[None]:
    """Run the enclosed Splink steps on one DuckDB thread, then restore the thread setting.

    For EM: each iteration sums match probabilities over the comparison vectors (Splink's
    `sum(match_probability)` per level). On several threads the vectors come out of the blocking
    join in another order every run and the threads' partial sums are added in the order they
    finish; floating-point addition is not associative, so the trained m differed in its last
    digits from run to run (0.7476268842376751 / ...750 on 20k rows), and with it every
    probability scored: enough to move a pair across a threshold or to swap two ties in the
    clustering order. On one thread both orders are fixed. EM is the training's only
    floating-point aggregation (the prior and u are counts; Splink samples by hashing record
    ids), and one thread does not make it slower here: at 100k rows a session took 0.32-0.37 s
    on two threads, 0.34-0.55 s on one; at 1M rows both sessions 20.6 and 13.0 s on two threads,
    18.5 and 11.5 s on one (a busy two-core machine, the same file). Scoring runs on every thread
    again (a pair's probability is computed within its row)."""
    con = linker._db_api.duckdb_con
    threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute(f"SET threads = {int(threads)}")


def estimate_prior(linker: Any, fields: frozenset[str] | None = None) -> float | None:
    """Re-estimate, for this file, the prior probability that two random records match, keeping
    the model's m and u. The prior falls as a file grows (duplicate pairs grow with the rows, all
    pairs with their square: 1e-5 at 60k rows, 6e-7 at 1M), so a model reused on another file
    must not keep the prior of the file it was trained on. Returns the new prior, or None (the
    model's is kept) when the file has too few sure matches to count."""
    settings = linker._settings_obj
    kept = settings._probability_two_random_records_match
    rules = linkage_model.deterministic_rules(fields)
    if not rules:
        return None
    linker.training.estimate_probability_two_random_records_match(rules, recall=linkage_model.DETERMINISTIC_RECALL)
    prior = settings._probability_two_random_records_match
    if not prior or not 0 < prior < 0.5:
        settings._probability_two_random_records_match = kept
        return None
    return prior


def model_problems(model: dict[str, Any]) -> list[str]:
    """Sanity of a trained model: every level has its m and u, for every comparison the best level
    must be evidence for a match (m > u) and the 'else' level evidence against (m < u); the prior
    must be a probability."""
    problems = []
    prior = model.get("probability_two_random_records_match")
    if prior is None or not 0 < prior < 0.5:
        problems.append(f"implausible prior probability of a match: {prior}")
    for comp in model["comparisons"]:
        levels = [lvl for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]
        top, last = levels[0], levels[-1]
        for lvl in levels:
            for param in ("m_probability", "u_probability"):
                if not isinstance(lvl.get(param), (int, float)):
                    problems.append(f"{comp['output_column_name']}: {param} of level "
                                    f"'{lvl.get('label_for_charts')}' not estimated")
        if (top.get("m_probability") or 0) <= (top.get("u_probability") or 1):
            problems.append(f"{comp['output_column_name']}: agreement is not evidence of a match")
        if last.get("sql_condition") == "ELSE" and (last.get("m_probability") or 1) >= (last.get("u_probability") or 0):
            problems.append(f"{comp['output_column_name']}: disagreement is not evidence against a match")
    return problems



def prepare_linkage(
    con: duckdb.DuckDBPyConnection,
    enriched: pa.Table,
    *,
    upload_id: str,
    received_at: str,
    source: str,
    master: Master | None,
) -> tuple[Master, pa.Table, pa.Table]:
    """What both engines score: the master's records (without this upload's, a re-run replaces
    them) then this upload's, each with a `uid` (its position + 1), the model's columns derived
    from them (registered on `con` as `contacts`) and the keys the later steps join on
    (registered as `combined`). Returns (the master without this upload, combined, the linkage
    input). Column-wise only: at 5M records a Python object per record costs gigabytes."""
    master, previous = (master or Master()).without_upload(upload_id)
    n_new = enriched.num_rows
    new = (
        enriched.append_column("record_key", record_keys(upload_id, enriched.column("row_number")))
        .append_column("upload_id", pa.repeat(pa.scalar(upload_id, pa.string()), n_new))
        .append_column("person_id", pa.nulls(n_new, pa.string()))
        .append_column("received_at", pa.repeat(pa.scalar(received_at, pa.string()), n_new))
        .append_column("source", pa.repeat(pa.scalar(source, pa.string()), n_new))
    )
    parts = [new.append_column("is_new", pa.repeat(pa.scalar(True), n_new))]
    if master.size:
        old = master.records
        parts.insert(0, old.append_column("is_new", pa.repeat(pa.scalar(False), old.num_rows)))
    # Old records first, then the new ones: the new ones are the tail (finish_linkage slices them).
    combined = pa.concat_tables(parts, promote_options="permissive")
    combined = combined.append_column("uid", pa.array(np.arange(1, combined.num_rows + 1, dtype=np.int64)))

    data = linkage_input(con, combined)
    con.register("contacts", data)
    # The person id each record had when this same upload was processed before (a re-run keeps ids).
    keys = combined.column("record_key")
    if previous.num_rows:
        prior = pc.take(previous.column("person_id"), pc.index_in(keys, value_set=previous.column("record_key")))
    else:
        prior = pa.nulls(combined.num_rows, pa.string())
    con.register("combined", combined.select(["uid", "record_key", "person_id", "is_new"]).append_column("prior_person_id", prior))
    return master, combined, data


def link_upload(
    enriched: pa.Table,
    *,
    upload_id: str,
    received_at: str,
    source: str = "upload",
    master: Master | None = None,
    train: bool | None = None,
    memory_limit: str | None = None,
) -> UploadLinkage:
    """Link one upload's enriched rows within themselves and against the controller's master."""
    from pipelines.linkage_backend import LinkageBackend

    backend = LinkageBackend.from_env()
    if backend.spark:  # REFINERY_LINKAGE_BACKEND=spark: pairs scored on Spark, the rest as below (docs/scale.md)
        from pipelines import linkage_spark

        return linkage_spark.link_upload(enriched, upload_id=upload_id, received_at=received_at, source=source,
                                         master=master, train=train, memory_limit=memory_limit, backend=backend)
    from splink import DuckDBAPI, Linker

    con = duckdb.connect()
    # memory_limit, temp_directory (spilling) and threads from the settings (pipelines/duckdb_config).
    db_settings = duckdb_config.configure(con, memory_limit=memory_limit)
    progress.watch_query(con, "linked_contacts")
    master, combined, data = prepare_linkage(con, enriched, upload_id=upload_id, received_at=received_at,
                                             source=source, master=master)
    n_new = enriched.num_rows

    fields = linkage_model.fields_present(con, "contacts")
    reused = master.model or default_model()
    # Person details the reused model does not compare: the file trains a model that does.
    new_fields = bool(fields - linkage_model.comparison_fields(reused))
    if train is None:
        do_train = ((n_new >= MIN_ROWS_TO_TRAIN and master.model is None)
                    or (new_fields and combined.num_rows >= MIN_ROWS_TO_TRAIN_DETAILS))
    else:
        do_train = train
    training_report: dict[str, Any] = {}
    settings = linkage_model.settings_dict(fields) if do_train else reused
    # A model saved before this upload still scores with the current blocking rules and columns.
    settings = {**settings, "unique_id_column_name": "uid",
                "blocking_rules_to_generate_predictions": linkage_model.settings_dict(fields)["blocking_rules_to_generate_predictions"],
                "retain_intermediate_calculation_columns": True}
    empty_pairs = pa.table({"uid_l": pa.array([], pa.int64()), "uid_r": pa.array([], pa.int64()),
                            "match_probability": pa.array([], pa.float64())})
    if combined.num_rows >= 2:
        sdf = DuckDBAPI(connection=con).register(data, dataset_display_name="linkage_input")
        # log_level=None: leave logging to the application (the CLI keeps the terminal for progress).
        linker = Linker(sdf, settings, log_level=None)
        if do_train:
            try:
                training_report = train_model(linker, fields)
            except TrainingError as exc:
                # A model that did not train properly is not used: fall back to the one we had.
                log.warning("linkage model not used: %s", exc)
                training_report = {"rejected": str(exc)}
                do_train = False
                linker = Linker(sdf, {**settings, **{k: v for k, v in (master.model or default_model()).items()
                                                     if k in ("comparisons", "probability_two_random_records_match")}},
                                log_level=None)
        if not do_train:
            training_report["prior_for_this_file"] = estimate_prior(
                linker, linkage_model.comparison_fields(settings) & fields)
        model = linker.misc.save_model_to_json()
        pairs_scored = _predict(con, linker, combined.num_rows, db_settings.predict_chunk_rows)
        candidates = con.sql(
            f"SELECT uid_l, uid_r, match_probability FROM predictions WHERE match_probability >= {REVIEW_THRESHOLD}"
        ).to_arrow_table()
    else:
        model, pairs_scored, candidates = settings, 0, empty_pairs
        mw = "".join(f", NULL::DOUBLE AS mw_{c['output_column_name']}" for c in settings["comparisons"])
        con.execute(f"CREATE OR REPLACE TEMP VIEW predictions AS SELECT NULL::BIGINT AS uid_l, NULL::BIGINT AS uid_r{mw} WHERE FALSE")
    return finish_linkage(con, combined, master, candidates, model, trained=do_train, pairs_scored=pairs_scored,
                          training_report=training_report)


def finish_linkage(
    con: duckdb.DuckDBPyConnection,
    combined: pa.Table,
    master: Master,
    candidates: pa.Table,
    model: dict[str, Any],
    *,
    trained: bool,
    pairs_scored: int,
    training_report: dict[str, Any],
) -> UploadLinkage:
    """What follows the scoring of the pairs, whichever engine scored them (DuckDB here, Spark in
    pipelines/linkage_spark.py): the merge guard, constrained clustering, person ids, the merge
    audit and the review pairs. `con` holds the `contacts`, `combined` and `predictions` views;
    `candidates` are the scored pairs (uid_l, uid_r, match_probability). Closes `con`."""
    judged = clustering.judge_pairs(con, candidates.select(["uid_l", "uid_r", "match_probability"]))
    mergeable = pc.and_(
        pc.and_(judged.column("evidence"), pc.invert(judged.column("conflict"))),
        pc.greater_equal(judged.column("match_probability"), MATCH_THRESHOLD),
    )
    edges = judged.filter(mergeable).select(["uid_l", "uid_r", "match_probability"])
    # Pairs a person decided are one person (review `same`) merge whatever the model says; a
    # decision to keep apart still wins over them (clustering's cannot-link).
    must_link = _decided_uids(combined, master.must_link())
    con.register("decided_same", pa.table({"uid_l": pa.array([min(a, b) for a, b in must_link], pa.int64()),
                                           "uid_r": pa.array([max(a, b) for a, b in must_link], pa.int64())}))
    if must_link:
        edges = pa.concat_tables([edges, con.sql(
            "SELECT uid_l, uid_r, 1.0::DOUBLE AS match_probability FROM decided_same ORDER BY uid_l, uid_r"
        ).to_arrow_table().cast(edges.schema)])

    # Records already one person (earlier batches) start together. Only the persons a merging
    # link touches go through clustering; every other old record keeps its person (its cluster is
    # the person's smallest uid), every other new record stays alone. Column-wise: a Python object
    # per record would cost gigabytes at 5M records.
    groups: list[list[int]] = []
    base_cluster = combined.column("uid")
    if master.size:
        con.register("linked_uids", pa.table({"uid": pa.concat_arrays([
            edges.column("uid_l").combine_chunks(), edges.column("uid_r").combine_chunks()])}))
        touched = con.sql(
            """SELECT list(uid ORDER BY uid) AS uids FROM combined
               WHERE person_id IN (SELECT c.person_id FROM combined AS c JOIN linked_uids USING (uid))
               GROUP BY person_id HAVING count(*) > 1"""
        ).to_arrow_table()
        groups = touched.column("uids").to_pylist()
        base_cluster = con.sql(
            """SELECT CASE WHEN person_id IS NULL THEN uid ELSE min(uid) OVER (PARTITION BY person_id) END AS cluster
               FROM combined ORDER BY uid"""
        ).to_arrow_table().column("cluster")
        con.unregister("linked_uids")
    keep_apart = _decided_uids(combined, master.keep_apart())
    result = clustering.constrained_clusters(con, combined.column("uid"), edges, groups, keep_apart,
                                             base_cluster=base_cluster, decided_same=must_link)

    con.register("clusters", result.clusters)
    persons = con.sql(load_sql("assign_persons").replace("$next_person", str(master.next_person))).to_arrow_table()
    con.register("persons", persons)
    con.register("judged", judged)
    con.register("used_edges", result.merging_edges)
    con.register("cluster_rows", result.clusters)
    merges = con.sql(load_sql("merge_audit").replace("$comparison_labels", _labels_sql(model))).to_arrow_table()
    # Pairs a person already decided to keep apart (unmerge, review) are not asked again.
    con.register("decided_apart", pa.table({"uid_l": pa.array([min(a, b) for a, b in keep_apart], pa.int64()),
                                            "uid_r": pa.array([max(a, b) for a, b in keep_apart], pa.int64())}))
    review = con.sql(load_sql("review_pairs").replace("$threshold", str(MATCH_THRESHOLD))).to_arrow_table()
    absorbed = con.execute(
        "SELECT count(DISTINCT previous_person_id) FROM persons "
        "WHERE previous_person_id IS NOT NULL AND previous_person_id <> person_id"
    ).fetchall()[0][0]
    next_person = max(master.next_person - 1, pc.max(person_numbers(persons.column("person_id"))).as_py() or 0) + 1

    person_col = persons.column("person_id")
    records = combined.drop_columns(["uid", "is_new"])
    if "match_probability" in records.column_names:
        records = records.drop_columns(["match_probability"])
    records = records.set_column(records.schema.get_field_index("person_id"), "person_id", person_col)
    # The strongest link each record took part in during this run (null for records not linked now).
    records = records.append_column("match_probability", result.clusters.column("match_probability"))
    # The new records are the tail (prepare_linkage): a slice, not a copy.
    linked = records.slice(master.size).drop_columns(["record_key", "upload_id", "received_at", "source"])
    con.close()
    return UploadLinkage(
        linked=linked, records=records, merges=merges, review=review, next_person=next_person, model=model,
        trained=trained, pairs_scored=pairs_scored, pairs_matched=result.merging_edges.num_rows,
        components_split=result.components_split, persons_absorbed=absorbed, training=training_report,
    )


def _decided_uids(combined: pa.Table, pairs: list[tuple[str, str]]) -> list[tuple[int, int]]:
    """A person's decisions on record pairs, as pairs of this run's uids (position + 1,
    prepare_linkage); pairs with a record no longer here are left out."""
    if not pairs:
        return []
    keys = combined.column("record_key")
    left = pc.index_in(pa.array([a for a, _ in pairs], pa.string()), value_set=keys).to_pylist()
    right = pc.index_in(pa.array([b for _, b in pairs], pa.string()), value_set=keys).to_pylist()
    return [(a + 1, b + 1) for a, b in zip(left, right) if a is not None and b is not None]


def _predict(con: duckdb.DuckDBPyConnection, linker: Any, n_records: int, chunk_rows: int) -> int:
    """Score the candidate pairs into the `predictions` view; returns how many were scored.

    A large upload is scored in slices of its records (Splink's left-hand chunks, each slice
    against every record), so DuckDB never holds more than one slice's candidate pairs in flight;
    the progress line shows the pairs scored so far."""
    threshold = min(PREDICT_THRESHOLD, REVIEW_THRESHOLD)
    n_chunks = max(1, math.ceil(n_records / chunk_rows))
    tables, scored = [], 0
    for i in range(1, n_chunks + 1):
        if n_chunks == 1:
            chunk = linker.inference.predict(threshold_match_probability=threshold)
        else:
            chunk = linker.inference.predict_chunk(
                left_chunk=(i, n_chunks), right_chunk=(1, 1), threshold_match_probability=threshold
            )
        tables.append(chunk.physical_name)
        scored += con.execute(f"SELECT count(*) FROM {chunk.physical_name}").fetchall()[0][0]
        progress.note("linked_contacts", f"{scored:,} candidate pairs kept after slice {i}/{n_chunks}")
    union = " UNION ALL ".join(f"SELECT * FROM {t}" for t in tables)
    con.execute(f"CREATE OR REPLACE TEMP VIEW predictions AS {union}")
    return scored


def _labels_sql(model: dict[str, Any]) -> str:
    """A SQL expression naming each comparison's level for a prediction row. Splink 5 keeps only
    the match weight per comparison (mw_*), so the level is found back from its weight, log2(m/u)."""
    parts = []
    for comp in model["comparisons"]:
        name = comp["output_column_name"]
        cases = []
        for lvl in comp["comparison_levels"]:
            m, u = lvl.get("m_probability"), lvl.get("u_probability")
            if lvl.get("is_null_level") or not m or not u:
                continue
            label = str(lvl.get("label_for_charts", "level")).replace("'", "")
            cases.append(f"WHEN abs(p.mw_{name} - {math.log2(m / u):.6f}) < 0.001 THEN '{label}'")
        level = f"CASE {' '.join(cases)} ELSE 'level' END" if cases else "'level'"
        parts.append(
            f"CASE WHEN p.mw_{name} IS NULL OR p.mw_{name} = 0 THEN NULL "
            f"ELSE '{name}: ' || {level} || ' (' || printf('%+.1f', p.mw_{name}) || ')' END"
        )
    return "concat_ws('; ', " + ", ".join(parts) + ")"
