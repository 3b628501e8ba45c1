"""`refinery unmerge`: undo a merge in a controller's master data, and remember the decision."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from dagster_project.settings import Settings
from pipelines.master import UnmergeError, unmerge
from resources.layout import check_controller
from resources import master_store
from resources.instruction_log import RecordsDB, RecordsError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "unmerge",
        help="split a person (cluster) of a controller's master back into its records; the merge never comes back",
    )
    p.add_argument("--controller", required=True, help="the controller id")
    p.add_argument("--person", required=True, help="the person id (cluster_id in the exports), e.g. P0000042")
    p.add_argument("--records", help="only these records leave the person: comma-separated keys from merge_audit.csv (upload:row)")
    p.set_defaults(func=cmd_unmerge)


def cmd_unmerge(args: argparse.Namespace) -> int:
    from dagster_project.definitions import build_resources

    try:
        settings = Settings.from_env()
        controller = check_controller(args.controller)
    except ValueError as exc:
        print(f"refinery: error: {exc}", file=sys.stderr)
        return 2
    # The same store the pipeline uses (local folder or S3), chosen from the environment.
    store = build_resources(settings)["object_store"].get()
    records = [r.strip() for r in args.records.split(",")] if args.records else None
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        # Under the controller's lock: an upload running now commits before or after, never over it.
        with RecordsDB.from_env() as db, master_store.locked(store, controller, "an unmerge", kind="unmerge", db=db) as holder:
            master = master_store.load_master(store, controller, db=db)
            updated, persons = unmerge(master, args.person, now, records)
            master_store.commit(
                store, db, controller, holder=holder, read_version=int(master.state.get("version", 0)),
                next_person=updated.next_person, last_upload=str(master.state.get("last_upload", "")),
                committed_by="an unmerge", records=updated.records, decisions=updated.decisions,
            )
    except (UnmergeError, master_store.MasterChangedError, master_store.MasterBusyError,
            master_store.MasterIntegrityError, RecordsError) as exc:
        print(f"refinery: error: {exc}", file=sys.stderr)
        return 1
    print(
        f"refinery: {args.person} split into {len(persons)} persons ({', '.join(persons)}); "
        "these records will not be merged again in later batches",
        file=sys.stderr,
    )
    return 0
