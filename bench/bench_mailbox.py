"""Mailbox signal extraction: precision and recall on the labelled corpus, and messages per second.

    python -m bench.bench_mailbox [--n-per-kind 10] [--seed 7] [--no-markdown]

Builds the corpus of bench/mailbox_corpus.py, writes it as an mbox and as a zip of .eml files (in a temporary
folder), reads both back with pipelines.mailbox.exports.iter_messages and extracts signals from every message
with pipelines.mailbox.signals.extract_signals. Scores per signal type and language, split into the phrasings
the phrase lists were developed on and the held-out ones, plus the replacement addresses; compares with a
baseline that reads only RFC 3464 delivery-status parts (what a standard DSN parser sees). The results replace
this script's section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import resource
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bench.mailbox_corpus import LANGUAGES, LabelledMessage, build_corpus, write_eml_zip, write_mbox
from bench.markdown import BENCHMARKS_MD, replace_section
from pipelines.mailbox.exports import iter_messages
from pipelines.mailbox.signals import SIGNALS, MailboxSignal, extract_signals

BEGIN = "<!-- bench_mailbox:begin (written by python -m bench.bench_mailbox; edits here are overwritten) -->"
END = "<!-- bench_mailbox:end -->"


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: "Counts") -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


@dataclass
class Scores:
    # (split, signal, language) -> counts; split is "all", "dev" or "held-out".
    signals: dict[tuple[str, str, str], Counts] = field(default_factory=lambda: defaultdict(Counts))
    replacements: dict[tuple[str, str], Counts] = field(default_factory=lambda: defaultdict(Counts))
    kind_right: int = 0
    kind_total: int = 0
    # Replacements expected in departures the extractor did detect: (split) -> counts.
    replacements_detected: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # corpus kind -> messages wrong


def score(corpus: list[LabelledMessage], predicted: list[list[MailboxSignal]]) -> Scores:
    s = Scores()
    for m, signals in zip(corpus, predicted):
        splits = ("all", "held-out" if m.held_out else "dev")
        expected = {(a, sig) for a, sig, _ in m.expected}
        got = {(x.address, x.signal) for x in signals}
        if expected != got:
            s.errors[m.kind] += 1
        for signal in SIGNALS:
            c = Counts(
                tp=len({e for e in expected & got if e[1] == signal}),
                fp=len({e for e in got - expected if e[1] == signal}),
                fn=len({e for e in expected - got if e[1] == signal}),
            )
            for split in splits:
                s.signals[(split, signal, m.language)].add(c)
                s.signals[(split, signal, "all")].add(c)
        # Replacement addresses: right when the departed signal carries the expected address.
        want = {a: r for a, sig, r in m.expected if sig == "departed" and r}
        have = {x.address: x for x in signals if x.signal == "departed" and x.replacement_email}
        c = Counts()
        for address, sig in have.items():
            if want.get(address) == sig.replacement_email:
                c.tp += 1
                s.kind_total += 1
                s.kind_right += sig.replacement_kind == m.expected_kind.get(address)
            else:
                c.fp += 1
        c.fn = sum(1 for a, r in want.items() if not (a in have and have[a].replacement_email == r))
        for split in splits:
            s.replacements[(split, m.language)].add(c)
            s.replacements[(split, "all")].add(c)
        detected = {x.address for x in signals if x.signal == "departed"}
        if want and set(want) <= detected:
            for split in splits:
                s.replacements_detected[split].add(c)
    return s


def dsn_only_baseline(raw: bytes) -> list[MailboxSignal]:
    """What a standard RFC 3464 reader finds: recipients of message/delivery-status parts, failed = hard
    when the status is 5.x.x, soft otherwise; nothing from plain-text bounces or auto-replies."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        out = []
        for part in msg.walk():
            if part.get_content_type() != "message/delivery-status":
                continue
            for block in part.get_payload():
                recipient = str(block.get("Final-Recipient", "")).partition(";")[2].strip().strip("<>").lower()
                action = str(block.get("Action", "")).strip().lower()
                status = str(block.get("Status", "")).strip()
                if recipient and action in ("failed", "delayed"):
                    signal = "hard_bounce" if action == "failed" and status.startswith("5") else "soft_bounce"
                    out.append(MailboxSignal(recipient, signal, "", "baseline", status or None))
        return out
    except Exception:  # noqa: BLE001
        return []


REPEATS = 5  # the machine is shared: the best of a few runs is the least disturbed one


def extract(raw: bytes) -> list[MailboxSignal]:
    return extract_signals(raw, "mb-bench")


def timed_round_robin(
    inputs: dict[str, tuple[Callable[[], Iterable[bytes]], Callable[[bytes], list[MailboxSignal]]]],
) -> tuple[dict[str, list[list[MailboxSignal]]], dict[str, float]]:
    """Results per input and the best wall time of REPEATS runs, the inputs taking turns so that a burst of
    load from other jobs does not fall on one input only."""
    best = {name: float("inf") for name in inputs}
    results: dict[str, list[list[MailboxSignal]]] = {}
    for _ in range(REPEATS):
        for name, (messages, fn) in inputs.items():
            start = time.perf_counter()
            results[name] = [fn(raw) for raw in messages()]
            best[name] = min(best[name], time.perf_counter() - start)
    return results, best


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def render(corpus: list[LabelledMessage], scores: Scores, baseline: Scores, runs: dict[str, tuple[int, float, int]],
           machine: dict[str, str], argv: str) -> str:
    held = sum(m.held_out for m in corpus)
    expected = sum(len(m.expected) for m in corpus)
    lines = [
        BEGIN,
        "## Mailbox signals (`python -m bench.bench_mailbox`)",
        "",
        f"Command: `{argv}`. Corpus: {len(corpus):,} messages written by `bench/mailbox_corpus.py` (FR/EN/DE/ES: RFC 3464 "
        "reports in Exchange/Office 365, Gmail and Postfix styles, plain-text Postfix, Exim, Sendmail, qmail, Yahoo, Exchange "
        "and localised NDRs, delay warnings, departure auto-replies with a new address, a colleague or nothing, out-of-office "
        f"replies with and without a colleague, and negatives), {expected:,} expected signals. **{held:,} messages use held-out "
        "phrasings**: written after the phrase lists in `pipelines/mailbox/phrases_*.py` and deliberately not added to them, "
        "so the *held-out* rows show how the lists do on wording they were not developed on. The same person wrote "
        "the templates and the lists, so even the held-out figures are optimistic: expect lower recall on real "
        "mailboxes, whose wording nobody here has seen. Two changes were made after seeing held-out results, neither "
        "adding a phrase: a departure notice whose own words hold exactly one personal address gives that address "
        "as the replacement, and name matching reads names with particles, apostrophes and letters such as ı, ł or ø; the held-out *replacement* "
        "figures are therefore not blind. Precision and recall count "
        "(address, signal) pairs: a hard bounce reported as soft is one false positive and one false negative.",
        "",
        "### Precision / recall per signal and language",
        "",
        "| signal | split | " + " | ".join(LANGUAGES) + " | all |",
        "|---|---|" + "---|" * (len(LANGUAGES) + 1),
    ]
    for signal in SIGNALS:
        for split in ("dev", "held-out", "all"):
            cells = []
            for language in (*LANGUAGES, "all"):
                c = scores.signals.get((split, signal, language))
                cells.append("–" if c is None or c.tp + c.fp + c.fn == 0 else f"{pct(c.precision)} / {pct(c.recall)} (n={c.tp + c.fn})")
            lines.append(f"| {signal} | {split} | " + " | ".join(cells) + " |")
    lines += ["", "### Replacement addresses of departures (precision / recall)", "",
              "| split | " + " | ".join(LANGUAGES) + " | all |", "|---|" + "---|" * (len(LANGUAGES) + 1)]
    for split in ("dev", "held-out", "all"):
        cells = []
        for language in (*LANGUAGES, "all"):
            c = scores.replacements.get((split, language))
            cells.append("–" if c is None or c.tp + c.fp + c.fn == 0 else f"{pct(c.precision)} / {pct(c.recall)} (n={c.tp + c.fn})")
        lines.append(f"| {split} | " + " | ".join(cells) + " |")
    lines += ["", "Replacements of the departures that were detected (the rows above also count those lost with a missed "
              "departure): " + "; ".join(
                  f"{split} {pct(c.precision)} / {pct(c.recall)} (n={c.tp + c.fn})"
                  for split, c in ((sp, scores.replacements_detected.get(sp)) for sp in ("dev", "held-out", "all")) if c) + "."]
    kind_acc = scores.kind_right / scores.kind_total if scores.kind_total else None
    lines += ["", f"Replacement kind (`new_address` / `colleague`) right for {pct(kind_acc)} of the right replacement addresses "
              f"({scores.kind_right}/{scores.kind_total}).", ""]
    lines += ["### Against a baseline that reads only RFC 3464 delivery-status parts", "",
              "| signal | extractor P / R | DSN-only baseline P / R |", "|---|---|---|"]
    for signal in SIGNALS:
        a, b = scores.signals[("all", signal, "all")], baseline.signals[("all", signal, "all")]
        lines.append(f"| {signal} | {pct(a.precision)} / {pct(a.recall)} | {pct(b.precision)} / {pct(b.recall)} |")
    wrong = sorted(scores.errors.items(), key=lambda kv: -kv[1])
    lines += ["", "Corpus kinds with messages not exactly right (messages wrong / kind): "
              + (", ".join(f"{k} {v}" for k, v in wrong) if wrong else "none") + ".", ""]
    lines += ["### Throughput (one process, one core)", "", "| input | messages | seconds (best of 5) | messages/s |", "|---|---|---|---|"]
    for name, (count, seconds, _) in runs.items():
        lines.append(f"| {name} | {count:,} | {seconds:.2f} | {count / seconds:,.0f} |")
    peak = max(r[2] for r in runs.values())
    lines += ["", "Most of a real mailbox is ordinary mail, which is triaged on its headers alone (no body parsed): the "
              "ordinary-mail row is the speed that dominates a real mailbox; the corpus is mostly bounces and auto-replies.",
              "", f"Reading the export is included in the mbox and zip rows. Peak RSS of the benchmark process: {peak / 2**20:,.0f} MB "
              "(corpus, both exports and all results in memory).", "",
              "Machine: " + "; ".join(f"{k} {v}" for k, v in machine.items()) + ".", END, ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-per-kind", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-markdown", action="store_true")
    args = parser.parse_args(argv)
    from bench.bench_pipeline import load_average, machine_info

    machine = machine_info()
    load_before = load_average()
    corpus = build_corpus(args.n_per_kind, args.seed)
    runs: dict[str, tuple[int, float, int]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-mailbox-") as tmp:
        mbox, zipped = Path(tmp) / "corpus.mbox", Path(tmp) / "corpus.zip"
        write_mbox(corpus, mbox)
        write_eml_zip(corpus, zipped)
        mbox_data, zip_data = mbox.read_bytes(), zipped.read_bytes()
        ordinary = [m.raw for m in corpus if m.kind in ("ordinary", "newsletter")]
        inputs: dict[str, tuple[Callable[[], Iterable[bytes]], Callable[[bytes], list[MailboxSignal]]]] = {
            "raw messages": (lambda: (m.raw for m in corpus), extract),
            "mbox export": (lambda: iter_messages("corpus.mbox", mbox_data), extract),
            "zip of .eml": (lambda: iter_messages("corpus.zip", zip_data), extract),
            "raw messages, ordinary mail and newsletters only": (lambda: ordinary, extract),
            "raw messages, DSN-only baseline": (lambda: (m.raw for m in corpus), dsn_only_baseline),
        }
        results, best = timed_round_robin(inputs)
        for name, out in results.items():
            runs[name] = (len(out), best[name], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        predicted, baseline_predicted = results["raw messages"], results["raw messages, DSN-only baseline"]
        # Same signals whichever way the messages arrive (the zip and the mbox keep the corpus order).
        for name in ("mbox export", "zip of .eml"):
            if [sorted((s.address, s.signal, s.replacement_email) for s in r) for r in results[name]] != \
               [sorted((s.address, s.signal, s.replacement_email) for s in r) for r in predicted]:
                sys.exit(f"{name}: signals differ from those of the raw messages")
    machine["load average (1/5/15 min) before / after"] = f"{load_before} / {load_average()}"
    scores, baseline = score(corpus, predicted), score(corpus, baseline_predicted)
    section = render(corpus, scores, baseline, runs, machine, " ".join(["python -m bench.bench_mailbox", *(argv or sys.argv[1:])]))
    print(section)
    if not args.no_markdown:
        replace_section(section, BEGIN.split(" (")[0], END, BENCHMARKS_MD)


if __name__ == "__main__":
    main()
