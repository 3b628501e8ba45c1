"""Enrichment benchmark: accuracy against the generator's hidden truth, and the cost of each enrichment.

    python -m bench.bench_enrichment [--rows 100000] [--seed 11] [--no-markdown]

One generated file (profile "mixed", written as a French Excel export: cp1252, ';'), read,
validated and standardised once; then, in this process:

- accuracy: civility from first names (`true_gender`), e-mail repair (`email_corruption`,
  `true_email`), e-mail finding (`true_pro_email`, precision on domains where at least two other
  people's addresses are known), phone E.164 (`phone_format`, `true_phone_e164`), job
  classification (the labelled titles in tests/data/job_titles_labelled.csv);
- cost: the enrichment stage with default settings, with each enrichment alone and all together,
  the company reference join (a synthetic SIRENE-like file of the generated companies), SMTP
  verification against a local aiosmtpd server (a sample: real servers are network-bound), and
  the linkage stage on the same rows for comparison.

The results replace this script's section of BENCHMARKS.md (between the markers below).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import socket
import sys
import tempfile
import time
from pathlib import Path

from bench.markdown import replace_section

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.generator import generate, write_file
from pipelines.controller_settings import ControllerSettings, ReferenceSettings
from pipelines.enrich import enrich_with_report
from pipelines.fields.civility import infer_civility
from pipelines.fields.jobs import classify_job_title
from pipelines.reader import read_contact_file, source_info
from pipelines.standardise import standardise
from pipelines.validate import split_rows

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "bench" / "data"
OUT_DIR = ROOT / "bench" / "out"
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
BEGIN = "<!-- bench_enrichment:begin (written by python -m bench.bench_enrichment; edits here are overwritten) -->"
END = "<!-- bench_enrichment:end -->"
PROFILE = "mixed"
INFERRING = ("civility", "job_classification", "email_finding")
# Typed forms the true number cannot be read back from: a digit lost or doubled, Excel's
# 5-significant-digit scientific notation.
UNRECOVERABLE_PHONES = ("typo_digit", "excel_sci")


def _settings(*names: str) -> ControllerSettings:
    return dataclasses.replace(ControllerSettings(), enrichments=frozenset(names))


# ----------------------------------------------------------------------------------------------
# Accuracy
# ----------------------------------------------------------------------------------------------
def score_civility(std: pd.DataFrame) -> dict:
    """Name-based civility on every contact row with a first name (whatever the input said)."""
    rows = std[std["first_name"].notna() & (std["true_gender"] != "")]
    region = rows["country"].fillna(rows["phone_country"]).fillna("FR")
    label = infer_civility(pa.array(rows["first_name"], pa.string()), pa.array(region, pa.string()), "fr").to_numpy(
        zero_copy_only=False
    )
    given = pd.notna(label)
    truth = np.where(rows["true_gender"] == "M", "Monsieur", "Madame")
    correct = given & (label == truth)
    supported = (rows["true_name_origin"] != "XX").to_numpy()
    return {
        "rows": int(len(rows)),
        "given": int(given.sum()),
        "accuracy_given": float(correct.sum() / max(given.sum(), 1)),
        "coverage": float(given.mean()),
        "rows_supported": int(supported.sum()),
        "coverage_supported": float(given[supported].mean()),
        "accuracy_supported": float(correct[supported].sum() / max(given[supported].sum(), 1)),
        "coverage_other_origins": float(given[~supported].mean()) if (~supported).any() else None,
    }


def score_email_repair(std: pd.DataFrame) -> dict:
    rows = std[~std["email_corruption"].isin(["none", "missing"])]
    ok = rows["email"].fillna("") == rows["true_email"].str.lower()
    by_kind = ok.groupby(rows["email_corruption"]).agg(["mean", "size"])
    return {
        "rows": int(len(rows)),
        "accuracy": float(ok.mean()),
        "by_corruption": {k: {"accuracy": float(v["mean"]), "rows": int(v["size"])} for k, v in by_kind.iterrows()},
    }


def score_phones(std: pd.DataFrame) -> dict:
    rows = std[~std["phone_format"].isin(["none", "missing"])]
    ok = rows["phone_e164"].fillna("") == rows["true_phone_e164"]
    valid = ~rows["phone_format"].isin(UNRECOVERABLE_PHONES)
    by_format = ok.groupby(rows["phone_format"]).agg(["mean", "size"])
    no_country = valid & rows["country"].isna()
    return {
        "rows_typed": int(len(rows)),
        "accuracy_valid": float(ok[valid].mean()),
        "rows_valid": int(valid.sum()),
        "accuracy_all_typed": float(ok.mean()),
        "accuracy_valid_without_country": float(ok[no_country].mean()),
        "rows_valid_without_country": int(no_country.sum()),
        "by_format": {k: {"accuracy": float(v["mean"]), "rows": int(v["size"])} for k, v in by_format.iterrows()},
    }


def score_finding(enriched: pd.DataFrame) -> dict:
    known = enriched[enriched["email_qualification"] == "nominative@pro"]
    people_on = known.assign(d=known["email"].str.split("@").str[1]).groupby("d")["entity_id"].apply(set).to_dict()
    proposed = enriched[enriched["email_found"].notna()].copy()
    domain = proposed["email_found"].str.split("@").str[1]
    proposed["others"] = [len(people_on.get(d, set()) - {e}) for d, e in zip(domain, proposed["entity_id"])]
    proposed["ok"] = proposed["email_found"] == proposed["true_pro_email"]
    two = proposed[proposed["others"] >= 2]
    needing = enriched[
        (enriched["true_pro_email"] != "")
        & ~enriched["email_qualification"].isin(["nominative@pro", "nominative@school"])
        & enriched["first_name"].notna() & enriched["last_name"].notna()
    ]
    bins = pd.cut(proposed["email_confidence"], [0.0, 0.85, 0.9, 0.95, 1.0])
    calibration = proposed.groupby(bins, observed=True)["ok"].agg(["mean", "size"])
    return {
        "proposed": int(len(proposed)),
        "precision": float(proposed["ok"].mean()) if len(proposed) else None,
        "proposed_two_known": int(len(two)),
        "precision_two_known": float(two["ok"].mean()) if len(two) else None,
        "rows_needing": int(len(needing)),
        "coverage_needing": float(needing["email_found"].notna().mean()),
        "found_right_needing": float((needing["email_found"] == needing["true_pro_email"]).mean()),
        "calibration": [
            {"confidence": str(k), "precision": float(v["mean"]), "proposals": int(v["size"])}
            for k, v in calibration.iterrows()
        ],
    }


def score_jobs() -> dict:
    path = ROOT / "tests" / "data" / "job_titles_labelled.csv"
    text = "\n".join(line for line in path.read_text("utf-8").splitlines() if not line.startswith("#"))
    out = {}
    for split in ("dev", "holdout"):
        rows = [r for r in csv.DictReader(io.StringIO(text)) if r["split"] == split]
        level = function = both = 0
        for r in rows:
            lv, fn = classify_job_title(r["title"])
            a, b = (lv or "") == r["job_level"], (fn or "") == r["job_function"]
            level, function, both = level + a, function + b, both + (a and b)
        out[split] = {"titles": len(rows), "level": level / len(rows), "function": function / len(rows), "both": both / len(rows)}
    return out


# ----------------------------------------------------------------------------------------------
# Cost
# ----------------------------------------------------------------------------------------------
def _luhn_siren(n: int) -> str:
    """A 9-digit number passing the SIREN check (Luhn), made from n."""
    base = f"{n:08d}"[-8:]
    for last in range(10):
        digits = [int(c) for c in base + str(last)]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
        if total % 10 == 0:
            return base + str(last)
    raise AssertionError


def synthetic_reference(truth: pd.DataFrame, path: Path) -> int:
    """A SIRENE-like Parquet of the generated companies: siren, name, domain, NAF, band, address."""
    companies = truth.loc[truth["true_company"] != "", ["true_company", "true_domain"]].drop_duplicates("true_domain")
    n = len(companies)
    rng = np.random.default_rng(5)
    table = pa.table(
        {
            "siren": [_luhn_siren(100000 + i) for i in range(n)],
            "denominationUniteLegale": companies["true_company"].tolist(),
            "domain": companies["true_domain"].tolist(),
            "activitePrincipaleUniteLegale": [f"{rng.integers(10, 99)}{rng.integers(10, 99)}Z" for _ in range(n)],
            "trancheEffectifsUniteLegale": rng.choice(["01", "02", "03", "11", "12", "21", "22", "31", "32"], n).tolist(),
            "numeroVoieEtablissement": [str(rng.integers(1, 200)) for _ in range(n)],
            "typeVoieEtablissement": rng.choice(["RUE", "AV", "BD", "PL"], n).tolist(),
            "libelleVoieEtablissement": ["DE LA REPUBLIQUE"] * n,
            "codePostalEtablissement": [f"{rng.integers(1000, 95999):05d}" for _ in range(n)],
            "libelleCommuneEtablissement": ["VILLE"] * n,
        }
    )
    pq.write_table(table, path)
    return n


def timed_enrich(std: pa.Table, settings: ControllerSettings, **kwargs) -> tuple[float, dict, pa.Table]:
    started = time.perf_counter()
    out = enrich_with_report(std, settings, **kwargs)
    return time.perf_counter() - started, out.seconds, out.table


def verification_cost(enriched: pa.Table, sample: int) -> dict | None:
    """SMTP probes of `sample` professional addresses against a local aiosmtpd server."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        return None
    from resources.verification import SmtpVerifier

    class Accept:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            envelope.rcpt_tos.append(address)
            return "250 OK"

    pro = enriched.filter(pc.ends_with(pc.fill_null(enriched["email_qualification"], ""), "@pro"))
    addresses = pc.unique(pro["email"]).drop_null().to_pylist()[:sample]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Accept(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        verifier = SmtpVerifier(lambda d: ["127.0.0.1"], port=port, timeout_s=5, max_domains=10**6)
        started = time.perf_counter()
        verdicts = verifier.verify(addresses)
        seconds = time.perf_counter() - started
    finally:
        controller.stop()
    domains = len({a.rsplit("@", 1)[1] for a in addresses})
    return {"addresses": len(verdicts), "domains": domains, "seconds": seconds,
            "ms_per_domain": 1000 * seconds / max(domains, 1)}


def linkage_seconds(enriched: pa.Table) -> float | None:
    try:
        from pipelines import linkage
    except ImportError:
        return None
    import logging

    logging.getLogger("splink").setLevel(logging.ERROR)
    started = time.perf_counter()
    linkage.link_upload(enriched, upload_id="up-20261126t000000-00000000", received_at="2026-11-26T00:00:00Z")
    return time.perf_counter() - started


# ----------------------------------------------------------------------------------------------
# Run and report
# ----------------------------------------------------------------------------------------------
def run(rows: int, seed: int, log=print) -> dict:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"enrich_{PROFILE}_{rows}_s{seed}.csv"
    started = time.perf_counter()
    messy, truth = generate(rows, seed=seed, profile=PROFILE, lang="fr")
    write_file(messy, path, fmt="csv", encoding="cp1252", delimiter=";", header_lang="fr")
    del messy
    log(f"[{rows:,}] generated {path.relative_to(ROOT)} in {time.perf_counter() - started:.1f} s")

    raw = read_contact_file(path)
    validated, _ = split_rows(raw, source_info(raw))
    std_started = time.perf_counter()
    std = standardise(validated)
    std_seconds = time.perf_counter() - std_started
    log(f"[{rows:,}] standardised {std.num_rows:,} rows in {std_seconds:.1f} s")

    # Warm-up on a slice: one-off loads (name list, vocabularies) are per process, not per row.
    enrich_with_report(std.slice(0, 500), _settings(*INFERRING))
    cost: dict[str, dict] = {}
    for label, names in [("default settings", ()), *[(n, (n,)) for n in INFERRING], ("all three", INFERRING)]:
        seconds, parts, table = timed_enrich(std, _settings(*names))
        cost[label] = {"seconds": seconds, "parts": parts}
        log(f"[{rows:,}] enrich {label}: {seconds:.2f} s")
    enriched_all = table

    with tempfile.TemporaryDirectory() as tmp:
        ref_path = Path(tmp) / "sirene.parquet"
        companies = synthetic_reference(truth, ref_path)
        settings = dataclasses.replace(_settings("company_reference"), reference=ReferenceSettings(path=str(ref_path)))
        seconds, parts, ref_table = timed_enrich(std, settings)
        matched = int(ref_table.num_rows - ref_table["naf_code"].null_count)
        cost["company_reference"] = {"seconds": seconds, "parts": parts, "reference_companies": companies, "rows_matched": matched}
        log(f"[{rows:,}] enrich company_reference: {seconds:.2f} s ({matched:,} rows matched)")

    verification = verification_cost(enriched_all, sample=2000)
    link_s = linkage_seconds(enriched_all)
    log(f"[{rows:,}] linkage stage on the same rows: {link_s:.1f} s" if link_s else "linkage not measured")

    std_df = std.drop_columns(["provenance"]).to_pandas().merge(truth, on="row_number", how="left")
    enriched_df = enriched_all.select(
        ["row_number", "first_name", "last_name", "email", "email_qualification", "email_found", "email_confidence"]
    ).to_pandas().merge(truth[["row_number", "entity_id", "true_pro_email"]], on="row_number", how="left")
    return {
        "rows": rows,
        "seed": seed,
        "validated_rows": std.num_rows,
        "standardise_seconds": std_seconds,
        "civility": score_civility(std_df),
        "email_repair": score_email_repair(std_df),
        "phones": score_phones(std_df),
        "email_finding": score_finding(enriched_df),
        "jobs": score_jobs(),
        "cost": cost,
        "verification": verification,
        "linkage_seconds": link_s,
        "machine": machine_info(),
    }


def machine_info() -> dict:
    """bench_pipeline's description of the machine, plus the load average at the time."""
    from bench.bench_pipeline import load_average
    from bench.bench_pipeline import machine_info as shared

    return {**shared(), "load": load_average()}


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def render(r: dict, argv_text: str) -> str:
    civ, rep, ph, fi, jobs = r["civility"], r["email_repair"], r["phones"], r["email_finding"], r["jobs"]
    link = r["linkage_seconds"]
    all_three = r["cost"]["all three"]["seconds"]
    m = r["machine"]
    out = [
        BEGIN,
        "## Enrichment: accuracy against hidden truth, and what each enrichment costs",
        "",
        f"`{argv_text}` — {r['rows']:,} generated rows (profile `{PROFILE}`, French Excel export), "
        f"{r['validated_rows']:,} past validation. Truth columns of `bench/generator.py`: `true_gender`, "
        "`true_name_origin`, `true_email` + `email_corruption`, `true_pro_email`, `true_phone_e164` + `phone_format`. "
        f"Machine: {m['cpu']}, CPUs {m['cpus']}, Python {m['python']}, pyarrow {m['pyarrow']}, {m['date']}, "
        f"load average {m['load']}. Single runs in one process, after a warm-up on 500 rows.",
        "",
        "### Against the targets",
        "",
        "| measure | target | measured |",
        "|---|---|---|",
        f"| civility accuracy where given | ≥ 98 % | **{_pct(civ['accuracy_given'])}** ({civ['given']:,} rows) |",
        f"| civility given, first names from the supported countries | ≥ 90 % | **{_pct(civ['coverage_supported'])}** "
        f"({civ['rows_supported']:,} rows; all origins {_pct(civ['coverage'])}) |",
        f"| e-mail finding precision, domains with ≥ 2 other known people | ≥ 95 % | **{_pct(fi['precision_two_known'])}** "
        f"({fi['proposed_two_known']:,} proposals) |",
        f"| repair of malformed addresses | ≥ 95 % | **{_pct(rep['accuracy'])}** ({rep['rows']:,} rows) |",
        f"| phones: E.164 right on valid numbers, however typed | ≥ 99 % | **{_pct(ph['accuracy_valid'])}** "
        f"({ph['rows_valid']:,} numbers) |",
        f"| enrichment stage (civility + jobs + finding) vs linkage stage at {r['rows'] // 1000}k rows | ≤ linkage | "
        f"**{all_three:.1f} s vs {link:.1f} s** |" if link else "| enrichment vs linkage | ≤ linkage | linkage not measured |",
        f"| job classification, held-out titles (level / function) | — | {_pct(jobs['holdout']['level'])} / "
        f"{_pct(jobs['holdout']['function'])} ({jobs['holdout']['titles']} titles) |",
        "",
        "### Cost of each enrichment",
        "",
        f"Enrichment stage on {r['validated_rows']:,} standardised rows (standardisation itself: "
        f"{r['standardise_seconds']:.1f} s). *Default settings* is what every run pays: e-mail qualification, "
        "company domain and provenance.",
        "",
        "| settings | s | rows/s | of which the enrichment itself |",
        "|---|--:|--:|---|",
    ]
    for label, c in r["cost"].items():
        parts = ", ".join(f"{k} {v:.2f} s" for k, v in c["parts"].items())
        extra = ""
        if label == "company_reference":
            extra = f" ({c['reference_companies']:,} reference companies, {c['rows_matched']:,} rows matched)"
        out.append(f"| {label}{extra} | {c['seconds']:.2f} | {r['validated_rows'] / c['seconds']:,.0f} | {parts} |")
    v = r["verification"]
    if v:
        out += [
            "",
            f"Verification (MX + RCPT TO) is network-bound: against a local SMTP server on 127.0.0.1, "
            f"{v['addresses']:,} addresses on {v['domains']:,} domains took {v['seconds']:.1f} s "
            f"({v['ms_per_domain']:.0f} ms per domain, one connection each). Real mail servers answer in "
            "0.1–several seconds and greylist: it is off by default and capped by `verification.max_domains`.",
        ]
    out += [
        "",
        "### Civility",
        "",
        f"From the first name and the row's country, on {civ['rows']:,} rows with a first name "
        f"(the enrichment only fills rows without a civility in the input). Given on {_pct(civ['coverage'])} of them, "
        f"{_pct(civ['coverage_supported'])} for names from the eight countries of the file, "
        f"{_pct(civ['coverage_other_origins'])} for names of other origins (Maghreb, Turkey, Vietnam, China...). "
        f"Accuracy where given: {_pct(civ['accuracy_given'])} overall, {_pct(civ['accuracy_supported'])} on names "
        "from the eight countries. Blank on purpose: Camille, Dominique, Claude and other names given to both sexes, "
        "initials, names the list does not know (typos included). Wrong answers seen in the error list: rows whose "
        "first and last names were swapped, and rare uses of a name for the other sex (a woman named Maxime, an "
        "Italian Simone working in France).",
        "",
        "### E-mail repair",
        "",
        "| corruption | rows | right |",
        "|---|--:|--:|",
    ]
    for kind, s in sorted(rep["by_corruption"].items(), key=lambda kv: -kv[1]["rows"]):
        out.append(f"| {kind} | {s['rows']:,} | {_pct(s['accuracy'])} |")
    out += [
        "",
        "Typos in a company's own domain are repaired only when the same company (or the row's website) uses the "
        "corrected domain elsewhere in the file; a forgotten top-level domain only when the file says which.",
        "",
        "### E-mail finding",
        "",
        f"{fi['proposed']:,} addresses proposed (precision {_pct(fi['precision'])}); "
        f"{fi['proposed_two_known']:,} on domains where at least two other people's addresses are known "
        f"(precision {_pct(fi['precision_two_known'])}). Of the {fi['rows_needing']:,} rows of people who have a "
        f"professional address the row does not show, {_pct(fi['coverage_needing'])} get a proposal, "
        f"{_pct(fi['found_right_needing'])} the right one. Wrong proposals mostly copy a typo or a nickname of the "
        "row's name (the mailbox has the real one), or a surname cut short in this row.",
        "",
        "| confidence | proposals | precision |",
        "|---|--:|--:|",
    ]
    for c in fi["calibration"]:
        out.append(f"| {c['confidence']} | {c['proposals']:,} | {_pct(c['precision'])} |")
    out += [
        "",
        "### Phones",
        "",
        f"{_pct(ph['accuracy_valid'])} of {ph['rows_valid']:,} valid numbers right in E.164 "
        f"({_pct(ph['accuracy_valid_without_country'])} of the {ph['rows_valid_without_country']:,} in rows with no "
        f"country); {_pct(ph['accuracy_all_typed'])} of all {ph['rows_typed']:,} typed, counting the "
        "unrecoverable ones (a digit missed or doubled, Excel's 5-digit scientific notation).",
        "",
        "| typed as | rows | right |",
        "|---|--:|--:|",
    ]
    for kind, s in sorted(ph["by_format"].items(), key=lambda kv: -kv[1]["rows"]):
        out.append(f"| {kind} | {s['rows']:,} | {_pct(s['accuracy'])} |")
    out += [
        "",
        "### Job classification",
        "",
        "Labelled titles in `tests/data/job_titles_labelled.csv` (French, English, German, Spanish). The *dev* titles "
        "were written with the vocabulary; the *held-out* ones after it was frozen, and are not tuned on.",
        "",
        "| titles | n | level | function | both |",
        "|---|--:|--:|--:|--:|",
    ]
    for split, s in jobs.items():
        out.append(f"| {split} | {s['titles']} | {_pct(s['level'])} | {_pct(s['function'])} | {_pct(s['both'])} |")
    out.append(END)
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_enrichment", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-markdown", action="store_true", help="print only, leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    log = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731
    results = run(args.rows, args.seed, log)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "enrichment.json").write_text(json.dumps(results, indent=2, default=str), "utf-8")
    argv_text = "python -m bench.bench_enrichment " + " ".join(argv if argv is not None else sys.argv[1:])
    section = render(results, argv_text.strip())
    print(section)
    if not args.no_markdown:
        replace_section(section, BEGIN.split(' (')[0], END, BENCHMARKS_MD)
    return 0


if __name__ == "__main__":
    sys.exit(main())
