"""`refinery review apply`: a person's decisions on review.csv, recorded in the controller's master."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from dagster_project.settings import Settings
from resources.layout import check_controller


def add_parser(sub: argparse._SubParsersAction) -> None:
    review = sub.add_parser("review", help="the review loop: decisions on the likely matches of review.csv")
    verbs = review.add_subparsers(dest="review_command", required=True)
    apply = verbs.add_parser(
        "apply",
        help="record the decisions written in review.csv's `decision` column (same / different); "
        "`same` joins the two persons now, `different` keeps them apart in later uploads",
    )
    apply.add_argument("--controller", required=True, help="the controller id")
    apply.add_argument("file", help="review.csv as sent back (CSV in any encoding and delimiter, or XLSX)")
    apply.set_defaults(func=cmd_review_apply)


def _fail(message: str, code: int) -> int:
    print(f"refinery: error: {message}", file=sys.stderr)
    return code


def cmd_review_apply(args: argparse.Namespace) -> int:
    from dagster_project.definitions import build_object_store
    from pipelines.review import ReviewFileError, apply_decisions, parse_review_file
    from resources import master_store
    from resources.instruction_log import RecordsDB, RecordsError

    path = Path(args.file)
    try:
        controller = check_controller(args.controller)
        settings = Settings.from_env()
        decisions = parse_review_file(path.read_bytes())
    except (ValueError, ReviewFileError) as exc:
        return _fail(f"{path}: {exc}" if isinstance(exc, ReviewFileError) else str(exc), 2)
    except OSError as exc:
        return _fail(f"{path}: {exc.strerror or exc}", 2)
    if not decisions.pairs:
        return _fail(f"{path}: no decision written (put `same` or `different` in the decision column)", 1)
    store = build_object_store(settings).get()
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        # Under the controller's lock: an upload running now commits before or after, never over it.
        with RecordsDB.from_env() as db, master_store.locked(store, controller, "a review", kind="review", db=db) as holder:
            master = master_store.load_master(store, controller, db=db)
            updated, applied = apply_decisions(master, decisions, now)
            if updated is not master:
                master_store.commit(
                    store, db, controller, holder=holder, read_version=int(master.state.get("version", 0)),
                    next_person=updated.next_person, last_upload=str(master.state.get("last_upload", "")),
                    committed_by="a review", records=updated.records, decisions=updated.decisions,
                )
    except (master_store.MasterChangedError, master_store.MasterBusyError, master_store.MasterIntegrityError,
            RecordsError) as exc:
        return _fail(str(exc), 1)
    print(
        f"refinery: {applied.merged:,} pair(s) joined into one person, {applied.kept_apart:,} kept apart in later uploads"
        + (f", {applied.already:,} already so" if applied.already else "")
        + (f"; {applied.refused:,} `same` refused: an earlier decision keeps those persons apart" if applied.refused else "")
        + (f"; {applied.one_person_now:,} `different` on records that are one person now: "
           "use refinery unmerge --records" if applied.one_person_now else "")
        + (f"; {applied.unknown_records:,} pair(s) name records this controller does not hold" if applied.unknown_records else "")
        + (f"; rows {', '.join(map(str, decisions.unreadable[:10]))}{'...' if len(decisions.unreadable) > 10 else ''}: "
           "not `same` or `different`, left as they are" if decisions.unreadable else ""),
        file=sys.stderr,
    )
    return 0
