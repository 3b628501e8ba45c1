"""The review loop (issue 14): a person's decisions on the pairs of review.csv, kept in the
controller's master.

review.csv lists likely matches that were not merged, with an empty `decision` column. The client
(or the operator for them) writes `same` or `different` on the rows they decide and sends the file
back (`refinery review apply`). Then:

- `same`: the two records' persons become one person now (the smaller person id is kept), and
  stay one in later uploads (records already one person start together in linkage);
- `different`: the pair is kept apart in later uploads, as after `refinery unmerge`.

Each decision is kept in the master's decisions (`must_link` / `keep_apart`, with its time): the
controller's labelled pairs. A decision on a pair replaces an earlier one on the same pair; `same`
is refused where an earlier decision keeps a record of one person apart from a record of the other.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.master import DECISION_COLUMNS, Master, empty_decisions
from pipelines.reader import InputFileError, read_rows

SAME, DIFFERENT = "must_link", "keep_apart"
# What people write in the decision column, in the languages of the headers we read.
_WORDS = {
    SAME: {"same", "s", "yes", "y", "oui", "o", "meme", "identique", "doublon", "ja", "gleich", "si", "mismo", "misma",
           "stesso", "stessa", "1", "true", "merge"},
    DIFFERENT: {"different", "d", "no", "n", "non", "nein", "distinct", "distinto", "distinta", "diverso", "diversa",
                "verschieden", "0", "false", "keep apart"},
}
REQUIRED = ("decision", "record_1", "record_2")


class ReviewFileError(ValueError):
    """The file sent back cannot be read as a review file: one line for the operator."""


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.strip().lower()) if not unicodedata.combining(c))


@dataclass
class ReviewDecisions:
    pairs: list[tuple[str, str, str]] = field(default_factory=list)  # (record_1, record_2, must_link|keep_apart)
    undecided: int = 0
    unreadable: list[int] = field(default_factory=list)  # file rows (1-based, header excluded) with another word


def parse_review_file(data: bytes) -> ReviewDecisions:
    """The decisions written in a review.csv sent back (CSV in any encoding/delimiter, or XLSX)."""
    try:
        rows = read_rows(data)
    except InputFileError as exc:
        raise ReviewFileError(f"cannot be read: {exc}") from None
    header = [_fold(h) for h in rows[0]] if rows else []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ReviewFileError(f"not a review file: no column {', '.join(missing)} (send back review.csv with its header)")
    at = {c: header.index(c) for c in REQUIRED}
    out = ReviewDecisions()
    for n, row in enumerate(rows[1:], start=1):
        cells = row + [""] * (len(header) - len(row))
        word = _fold(cells[at["decision"]])
        if not word:
            out.undecided += 1
            continue
        decision = next((d for d, words in _WORDS.items() if word in words), None)
        a, b = cells[at["record_1"]].strip(), cells[at["record_2"]].strip()
        if decision is None or not a or not b or a == b:
            out.unreadable.append(n)
            continue
        out.pairs.append((min(a, b), max(a, b), decision))
    return out


@dataclass
class Applied:
    merged: int = 0            # `same` pairs that joined two persons
    kept_apart: int = 0        # `different` pairs recorded
    already: int = 0           # decisions the master already reflected
    refused: int = 0           # `same` where an earlier decision keeps the two persons apart
    one_person_now: int = 0    # `different` on records that are one person today (refinery unmerge does that)
    unknown_records: int = 0   # record keys the master does not hold (another controller's file, deleted uploads)


def apply_decisions(master: Master, decisions: ReviewDecisions, decided_at: str) -> tuple[Master, Applied]:
    """The master with the decisions applied and recorded; what happened to them."""
    applied = Applied()
    if master.records is None or master.size == 0:
        applied.unknown_records = len(decisions.pairs)
        return master, applied
    table = master.decisions if master.decisions is not None else empty_decisions()
    previous = {(a, b): d for a, b, d in zip(*(table.column(c).to_pylist() for c in ("record_key_l", "record_key_r", "decision")))}
    redecided = {(a, b) for a, b, _ in decisions.pairs}
    earlier_apart = [(a, b) for (a, b), d in previous.items() if d == DIFFERENT and (a, b) not in redecided]
    person_of = _persons_of(master.records, {k for pair in [*earlier_apart, *((a, b) for a, b, _ in decisions.pairs)] for k in pair})
    # Persons kept apart, as pairs of the persons they were when decided; compared through `root`
    # as this batch joins persons.
    apart = [(person_of[a], person_of[b]) for a, b in earlier_apart if a in person_of and b in person_of]
    merged_into: dict[str, str] = {}  # a person joined to another (the smaller id is kept)

    def root(p: str) -> str:
        while p in merged_into:
            p = merged_into[p]
        return p

    new_rows: dict[tuple[str, str], str] = {}
    for a, b, decision in decisions.pairs:
        if a not in person_of or b not in person_of:
            applied.unknown_records += 1
            continue
        ra, rb = root(person_of[a]), root(person_of[b])
        if decision == DIFFERENT:
            if ra == rb:
                applied.one_person_now += 1
            elif previous.get((a, b)) == DIFFERENT:
                applied.already += 1
            else:
                new_rows[(a, b)] = DIFFERENT
                apart.append((ra, rb))
                applied.kept_apart += 1
            continue
        if ra == rb:
            applied.already += 1
            if previous.get((a, b)) != SAME:
                new_rows[(a, b)] = SAME
            continue
        if any({root(x), root(y)} == {ra, rb} for x, y in apart):
            applied.refused += 1
            continue
        keep, gone = sorted((ra, rb))
        merged_into[gone] = keep
        new_rows[(a, b)] = SAME
        applied.merged += 1
    if not new_rows:
        return master, applied
    records = master.records
    if merged_into:
        joined = sorted(merged_into)
        idx = pc.index_in(records.column("person_id"), value_set=pa.array(joined, pa.string()))
        records = records.set_column(
            records.schema.get_field_index("person_id"), "person_id",
            pc.if_else(pc.is_valid(idx), pc.take(pa.array([root(p) for p in joined], pa.string()), idx),
                       records.column("person_id")),
        )
    # A decision replaces an earlier one on the same pair.
    pair_ids = pc.binary_join_element_wise(table.column("record_key_l"), table.column("record_key_r"), "\x1f")
    kept = table.filter(pc.invert(pc.is_in(pair_ids, pa.array([f"{a}\x1f{b}" for a, b in new_rows], pa.string()))))
    added = pa.table({
        "record_key_l": [a for a, _ in new_rows], "record_key_r": [b for _, b in new_rows],
        "decided_at": [decided_at] * len(new_rows), "decision": list(new_rows.values()),
    })
    decisions_out = pa.concat_tables([kept.select(list(DECISION_COLUMNS)), added.select(list(DECISION_COLUMNS))])
    return Master(records, master.next_person, decisions_out, master.model, master.state), applied


def _persons_of(records: pa.Table, keys: set[str]) -> dict[str, str]:
    """record key -> person id, for the keys the master holds (one pass over its keys)."""
    if not keys:
        return {}
    found = pc.indices_nonzero(pc.is_in(records.column("record_key"), pa.array(sorted(keys), pa.string())))
    return dict(zip(pc.take(records.column("record_key"), found).to_pylist(),
                    pc.take(records.column("person_id"), found).to_pylist()))
