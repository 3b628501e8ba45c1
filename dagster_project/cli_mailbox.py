"""`refinery mailbox scan`: read one staff mailbox of a controller (IMAP, or an mbox / .eml zip
export) and write the update file for its CRM (issue #9)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from resources.layout import MAILBOX_EXPORT_SUFFIXES

SCAN_FILES = ("mailbox_updates.csv", "mailbox_updates.parquet", "summary.json")


def _fail(message: str, code: int = 2) -> int:
    print(f"refinery: error: {message}", file=sys.stderr)
    return code


def add_parser(sub: argparse._SubParsersAction) -> None:
    mailbox = sub.add_parser("mailbox", help="fix erroneous e-mails from the client's mailboxes (bounces, departures)")
    msub = mailbox.add_subparsers(dest="mailbox_command", required=True)
    scan = msub.add_parser("scan", help="read one mailbox named in the controller's settings and write mailbox_updates.csv")
    scan.add_argument("--controller", required=True, help="the controller id")
    scan.add_argument("--mailbox", required=True, help="the mailbox id, as the controller's settings name it")
    scan.add_argument("--export", metavar="FILE", help="an mbox file, a .zip of .eml files or one .eml (export mailboxes)")
    scan.add_argument("--settings", metavar="FILE", help="one-off controller settings (YAML or JSON, see docs/settings.md)")
    scan.add_argument("--out", default="out", help="folder for the update file (default: ./out)")
    scan.set_defaults(func=cmd_scan)


def cmd_scan(args: argparse.Namespace) -> int:
    from dagster import materialize

    from assets.mailboxes import MAILBOX_ASSETS
    from assets.uploads import mailbox_scans_partitions
    from dagster_project.cli import _LiveProgress, _instance, _step_failure_message, authorise_command, download_export
    from dagster_project.definitions import build_object_store, build_resources
    from dagster_project.settings import Settings
    from pipelines import controller_settings
    from pipelines.instructions import INSTRUCTION_TAG, InstructionRefused
    from resources.instruction_log import RecordsError
    from resources.layout import check_controller, check_mailbox_id, mailbox_export_prefix
    from resources.mailbox_scans import new_scan_id, register_scan

    try:
        settings = Settings.from_env()
        controller = check_controller(args.controller)
        mailbox_id = check_mailbox_id(args.mailbox)
    except ValueError as exc:
        return _fail(str(exc))
    export = Path(args.export) if args.export else None
    if export is not None:
        if not export.is_file():
            return _fail(f"{export}: file not found")
        if export.suffix.lower() not in MAILBOX_EXPORT_SUFFIXES:
            return _fail(f"{export}: expected an .mbox file, a .zip of .eml files or an .eml file")
    store = build_object_store(settings).get()
    try:
        run_settings, sources = controller_settings.resolve(store, controller, settings_file=args.settings)
    except controller_settings.SettingsError as exc:
        return _fail(str(exc))
    mailbox = run_settings.mailbox(mailbox_id)
    kind = "export" if export is not None else "imap"
    if mailbox is None:
        return _fail(f"mailbox {mailbox_id} is not in the settings of controller {controller} (see docs/settings.md, 'mailboxes')", 1)
    if mailbox.source != kind:
        hint = "give its file with --export" if mailbox.source == "export" else "it is read over IMAP: no --export"
        return _fail(f"mailbox {mailbox_id} is an {mailbox.source} mailbox: {hint}")
    run_options = {"origin": "cli", "mailbox_scan": True}
    try:
        instruction = authorise_command(store, controller, run_settings, sources, run_options)
    except (InstructionRefused, RecordsError, controller_settings.SettingsError) as exc:
        return _fail(str(exc), code=1)
    scan_id = new_scan_id()
    source_key = None
    if export is not None:
        source_key = f"{mailbox_export_prefix(controller, mailbox_id)}{scan_id}{export.suffix.lower()}"
        store.put_file(source_key, export)
    options = controller_settings.record({**run_options, "instruction_id": instruction.id}, run_settings, sources)
    register_scan(store, controller, mailbox_id, kind, source_key=source_key, options=options, scan_id=scan_id)
    print(f"refinery: mailbox scan {scan_id} for controller {controller}", file=sys.stderr)
    started = time.perf_counter()
    resources = build_resources(settings) | {"progress": _LiveProgress()}
    with _instance() as instance:
        instance.add_dynamic_partitions(mailbox_scans_partitions.name, [scan_id])
        result = materialize(
            MAILBOX_ASSETS,
            partition_key=scan_id,
            instance=instance,
            resources=resources,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            tags={"refinery/origin": "cli", "refinery/controller": controller, INSTRUCTION_TAG: instruction.id},
        )
    if not result.success:
        return _fail(f"mailbox {mailbox_id}: {_step_failure_message(result)}", code=1)
    out_dir = Path(args.out)
    summary = download_export(store, controller, scan_id, SCAN_FILES, out_dir)
    print(
        f"refinery: {summary['signals']:,} signals ({summary['hard_bounces']:,} hard bounces, "
        f"{summary['soft_bounces']:,} soft, {summary['departures']:,} departures); "
        f"{summary['new_events']:,} updates for {summary['persons_updated']:,} persons "
        f"({summary['emails_marked_invalid']:,} addresses invalid, {summary['replacements_proposed']:,} replacements proposed) "
        f"in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    print(f"refinery: update file written to {out_dir}/mailbox_updates.csv", file=sys.stderr)
    return 0
