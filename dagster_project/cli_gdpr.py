"""`refinery` commands for the processor's GDPR duties.

    refinery instructions record --controller ID [--settings FILE]     standing settings = instruction
    refinery instructions list [--controller ID] [--format table|json|csv]
    refinery instructions verify                                       hash chain of the log
    refinery controller set --controller ID [--name ..] [--contact-email ..] [--dpo-name ..] [--dpo-email ..] [--address ..]
    refinery offboard --controller ID --end-date DATE [--delete-after-days N]
    refinery retention run [--as-of DATE] [--dry-run]                  materialises the retention_sweep asset
    refinery retention set --controller ID --days N
    refinery retention status [--controller ID]
    refinery register --controller ID [--format json|csv|md|html] [--out FILE]
    refinery dsr access|export|rectify|erase|restrict|object|forward --controller ID (--email E | --name N --company C) ...
    refinery incident open|update|list|notify ...
    refinery audit bundle --out DIR [--zip] | refinery audit verify DIR

Every error is one line: `refinery: error: ...`, exit status 2 for a bad request, 1 for a refusal
or a failed operation. Nothing personal is printed except what a DSR command was asked for.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path


class CliError(Exception):
    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def _say(message: str) -> None:
    print(f"refinery: {message}", file=sys.stderr)


def _guard(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turns the known failures into one line and an exit status, never a traceback."""

    def wrapped(args: argparse.Namespace) -> int:
        from pipelines.instructions import InstructionRefused
        from pipelines.retention import RetentionError
        from resources.instruction_log import RecordsError
        from resources.keys import KeyProblem
        from resources.master_store import MasterBusyError, MasterChangedError, MasterIntegrityError

        try:
            return func(args)
        except CliError as exc:
            print(f"refinery: error: {exc}", file=sys.stderr)
            return exc.code
        except (InstructionRefused, RetentionError, RecordsError, KeyProblem, MasterBusyError, MasterChangedError,
                MasterIntegrityError) as exc:
            print(f"refinery: error: {exc}", file=sys.stderr)
            return 1
        except ValueError as exc:
            print(f"refinery: error: {exc}", file=sys.stderr)
            return 2

    wrapped.__name__ = func.__name__
    return wrapped


def _store():
    from dagster_project.definitions import build_resources
    from dagster_project.settings import Settings

    return build_resources(Settings.from_env())["object_store"].get()


def _db():
    from resources.instruction_log import RecordsDB

    return RecordsDB.from_env()


def _keys():
    from resources.keys import KeyStore

    return KeyStore.from_env()


def _controller(value: str) -> str:
    from resources.layout import check_controller

    try:
        return check_controller(value)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option} {value!r}: expected a date YYYY-MM-DD") from None


def _actor() -> str | None:
    # Who typed the command, for the instruction log: the operator account (not a data subject).
    return os.environ.get("REFINERY_OPERATOR") or os.environ.get("USER") or None


def _instance():
    from dagster import DagsterInstance

    return DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()


def _write(text: str, out: str | None) -> None:
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text, "utf-8")
        _say(f"written to {out}")
    else:
        sys.stdout.write(text)


# ------------------------------------------------------------------------------------------------
# instructions
# ------------------------------------------------------------------------------------------------
@_guard
def cmd_instructions_record(args: argparse.Namespace) -> int:
    from pipelines import instructions

    controller = _controller(args.controller)
    with _db() as db:
        ins = instructions.record_standing_settings(db, _store(), controller, settings_file=args.settings, actor=_actor())
    _say(f"controller {controller}: settings recorded as instruction {ins.id} ({ins.content_hash})")
    return 0


@_guard
def cmd_instructions_list(args: argparse.Namespace) -> int:
    from pipelines import instructions

    controller = _controller(args.controller) if args.controller else None
    with _db() as db:
        rows = [i.as_dict() for i in instructions.history(db, controller)]
    if args.format == "json":
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    elif args.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        fields = ["id", "seq", "controller", "kind", "origin", "actor", "created_at", "content_hash", "based_on", "row_hash", "summary"]
        writer.writerow(fields)
        for r in rows:
            writer.writerow([json.dumps(r[f], sort_keys=True) if f == "summary" else r[f] for f in fields])
    else:
        for r in rows:
            print(f"{r['created_at']}  {r['id']}  {r['controller']:<16} {r['kind']:<9} {r['origin']:<16} {r['content_hash'][:23]}"
                  + (f"  <- {r['based_on']}" if r["based_on"] else ""))
    return 0


@_guard
def cmd_instructions_verify(args: argparse.Namespace) -> int:
    from pipelines import instructions

    with _db() as db:
        check = instructions.verify_chain(db)
    if not check.ok:
        raise CliError(f"instruction log: {check.problem}", code=1)
    _say(f"instruction log verified: {check.rows} instruction(s), chain intact")
    return 0


# ------------------------------------------------------------------------------------------------
# controller profile, offboarding, retention
# ------------------------------------------------------------------------------------------------
@_guard
def cmd_controller_set(args: argparse.Namespace) -> int:
    from pipelines import register

    controller = _controller(args.controller)
    values = {k: getattr(args, k) for k in register.PROFILE_FIELDS}
    with _db() as db:
        register.set_controller_profile(db, controller, **values)
    _say(f"controller {controller}: contact details recorded (used by the register and for notices)")
    return 0


@_guard
def cmd_offboard(args: argparse.Namespace) -> int:
    from pipelines import retention

    controller = _controller(args.controller)
    end = _date(args.end_date, "--end-date")
    with _db() as db:
        ins, purge_at = retention.offboard(db, controller, end, delete_after_days=args.delete_after_days, actor=_actor())
    _say(f"controller {controller}: contract ends {end.isoformat()} (instruction {ins.id}); no processing after that day; "
         f"all its data, master data, models and key are deleted by the sweep on {purge_at.date().isoformat()}")
    return 0


@_guard
def cmd_retention_set(args: argparse.Namespace) -> int:
    from pipelines import retention

    controller = _controller(args.controller)
    with _db() as db:
        ins = retention.set_retention(db, controller, args.days, actor=_actor())
    _say(f"controller {controller}: uploads are deleted {args.days} days after their first export (instruction {ins.id})")
    return 0


@_guard
def cmd_retention_status(args: argparse.Namespace) -> int:
    from pipelines import retention

    store = _store()
    with _db() as db:
        retention.discover_uploads(store, db)
        controllers = [_controller(args.controller)] if args.controller else retention.known_controllers(store, db)
        for controller in controllers:
            for s in retention.upload_states(store, db, controller):
                print(f"{controller:<16} {s.upload_id}  deadline {retention.iso(s.deadline)}  ({s.reason})")
    return 0


@_guard
def cmd_retention_run(args: argparse.Namespace) -> int:
    """Materialises the same asset as the nightly schedule, on this machine's instance."""
    from dagster import materialize

    from assets.gdpr import retention_sweep
    from dagster_project.definitions import build_resources
    from dagster_project.settings import Settings
    from pipelines import retention

    try:  # checked here: a typo must not become "now"
        as_of = retention.parse_as_of(args.as_of)
    except retention.RetentionError as exc:
        raise CliError(str(exc)) from None
    resources = {"object_store": build_resources(Settings.from_env())["object_store"]}
    with _instance() as instance:
        result = materialize(
            [retention_sweep], instance=instance, resources=resources, raise_on_error=False,
            run_config={"ops": {"retention_sweep": {"config": {"as_of": retention.iso(as_of), "dry_run": bool(args.dry_run)}}},
                        "loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            tags={"refinery/origin": "cli"},
        )
    with _db() as db:
        certs = [c for c in retention.certificates(db) if c.get("as_of") == retention.iso(as_of)]
    if not result.success:
        message = "the retention sweep failed"
        for event in result.all_events:
            if event.is_step_failure and event.step_failure_data.user_failure_data:
                message = event.step_failure_data.user_failure_data.description or message
        raise CliError(message, code=1)
    mats = result.asset_materializations_for_node("retention_sweep")
    meta = {k: getattr(v, "value", v) for k, v in mats[0].metadata.items()} if mats else {}
    if args.dry_run:
        _say(f"dry run as of {retention.iso(as_of)}: {meta.get('deletions_due', 0)} deletion(s) due, nothing deleted")
        return 0
    for cert in certs:
        what = f"upload {', '.join(cert['upload_ids'])}" if cert["kind"] == "upload_retention" else "every upload, master data, models and key"
        _say(f"{cert['controller']}: deleted {what}: {cert['objects_removed']} object(s), {cert['versions_removed']} version(s), "
             f"rows {cert['rows_removed']}; certificate {cert['id']}, verification {'passed' if cert['verification']['passed'] else 'FAILED'}")
    _say(f"retention sweep as of {retention.iso(as_of)}: {meta.get('controllers_checked', 0)} controller(s), "
         f"{meta.get('uploads_checked', 0)} upload(s) checked, {len(certs)} deletion(s)")
    return 0


# ------------------------------------------------------------------------------------------------
# register
# ------------------------------------------------------------------------------------------------
@_guard
def cmd_register(args: argparse.Namespace) -> int:
    from pipelines import register

    controller = _controller(args.controller)
    store = _store()
    instance = _instance() if os.environ.get("DAGSTER_HOME") else None
    try:
        with _db() as db:
            facts, source = register.gather(store, db, instance)
            reg = register.build(store, db, controller, facts=facts, source=source)
    finally:
        if instance is not None:
            instance.dispose()
    _write(register.render(reg, args.format), args.out)
    return 0


# ------------------------------------------------------------------------------------------------
# wiring
# ------------------------------------------------------------------------------------------------
def add_parsers(sub: argparse._SubParsersAction) -> None:
    ins = sub.add_parser("instructions", help="the controller's documented instructions (settings, runs, contract)")
    ins_sub = ins.add_subparsers(dest="instructions_command", required=True)
    p = ins_sub.add_parser("record", help="record a controller's standing settings as its instruction for automatic runs")
    p.add_argument("--controller", required=True)
    p.add_argument("--settings", metavar="FILE", help="settings file (YAML/JSON); default: the stored settings, else the defaults")
    p.set_defaults(func=cmd_instructions_record)
    p = ins_sub.add_parser("list", help="the instruction log")
    p.add_argument("--controller")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.set_defaults(func=cmd_instructions_list)
    p = ins_sub.add_parser("verify", help="check the log's hash chain")
    p.set_defaults(func=cmd_instructions_verify)

    ctl = sub.add_parser("controller", help="a controller's contact details (register, notices, forwarded requests)")
    ctl_sub = ctl.add_subparsers(dest="controller_command", required=True)
    p = ctl_sub.add_parser("set", help="record or change the controller's name, contact address and DPO")
    p.add_argument("--controller", required=True)
    for name in ("name", "address", "contact-email", "dpo-name", "dpo-email", "representative"):
        p.add_argument(f"--{name}", dest=name.replace("-", "_"))
    p.set_defaults(func=cmd_controller_set)

    p = sub.add_parser("offboard", help="record the end of a controller's contract; its data is deleted at most one month later")
    p.add_argument("--controller", required=True)
    p.add_argument("--end-date", required=True, help="last day of the services (YYYY-MM-DD)")
    p.add_argument("--delete-after-days", type=int, help="delete this many days after the end (default and maximum: one month)")
    p.set_defaults(func=cmd_offboard)

    ret = sub.add_parser("retention", help="retention and deletion")
    ret_sub = ret.add_subparsers(dest="retention_command", required=True)
    p = ret_sub.add_parser("run", help="run the deletion sweep now (the nightly asset, materialised on demand)")
    p.add_argument("--as-of", help="delete what is due at this date (YYYY-MM-DD, end of day UTC) or ISO time; default now")
    p.add_argument("--dry-run", action="store_true", help="list what is due, delete nothing")
    p.set_defaults(func=cmd_retention_run)
    p = ret_sub.add_parser("set", help="a controller's retention period after each export")
    p.add_argument("--controller", required=True)
    p.add_argument("--days", type=int, required=True)
    p.set_defaults(func=cmd_retention_set)
    p = ret_sub.add_parser("status", help="every upload held and its deletion deadline")
    p.add_argument("--controller")
    p.set_defaults(func=cmd_retention_status)

    p = sub.add_parser("register", help="the Art. 30(2) register of processing activities for one controller")
    p.add_argument("--controller", required=True)
    p.add_argument("--format", choices=["json", "csv", "md", "html"], default="md")
    p.add_argument("--out", help="file to write (default: standard output)")
    p.set_defaults(func=cmd_register)

    _add_dsr_incident_audit(sub)


# ------------------------------------------------------------------------------------------------
# data-subject requests
# ------------------------------------------------------------------------------------------------
def _subject(args: argparse.Namespace):
    from pipelines.dsr import DsrError, Subject

    try:
        return Subject(email=args.email, name=args.name, company=args.company)
    except DsrError as exc:
        raise CliError(str(exc)) from None


def _dsr_guard(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def wrapped(args: argparse.Namespace) -> int:
        from pipelines.dsr import DsrError
        from resources.mailer import MailerError

        try:
            return func(args)
        except (DsrError, MailerError) as exc:
            raise CliError(str(exc), code=1) from None

    wrapped.__name__ = func.__name__
    return _guard(wrapped)


@_dsr_guard
def cmd_dsr(args: argparse.Namespace) -> int:
    from pipelines import dsr

    controller = _controller(args.controller)
    subject = _subject(args)
    store, keys = _store(), _keys()
    with _db() as db:
        if args.dsr_command == "access":
            out = dsr.access(store, db, keys, controller, subject, actor=_actor())
            text = json.dumps(out.report, indent=2, ensure_ascii=False) + "\n" if args.format == "json" else dsr.access_csv(out.report)
            _write(text, args.out)
            _say(f"access {out.request_id}: {out.records} record(s) of this person in {out.report['files']} stored file(s)")
        elif args.dsr_command == "export":
            out = dsr.export(store, db, keys, controller, subject, actor=_actor())
            text = json.dumps(out.report, indent=2, ensure_ascii=False) + "\n" if args.format == "json" else dsr.portability_csv(out.report)
            _write(text, args.out)
            _say(f"export {out.request_id}: {out.records} record(s)")
        elif args.dsr_command == "rectify":
            changes = {}
            for item in args.set or []:
                fld, sep, value = item.partition("=")
                if not sep:
                    raise CliError(f"--set {item!r}: expected FIELD=VALUE")
                changes[fld.strip()] = value
            out = dsr.rectify(store, db, keys, controller, subject, changes, actor=_actor())
            _say(f"rectify {out.request_id}: {', '.join(sorted(changes))} changed in {out.rows_changed} row(s) of {out.files_changed} file(s); "
                 f"{out.versions_purged} older version(s) removed")
        elif args.dsr_command == "erase":
            if not args.yes:
                raise CliError("erase rewrites every stored file without this person and cannot be undone: add --yes")
            out = dsr.erase(store, db, keys, controller, subject, actor=_actor())
            cert = out.certificate or {}
            passed = cert.get("verification", {}).get("passed")
            _say(f"erase {out.request_id}: {out.records} record(s) removed from {out.files_changed} file(s), "
                 f"{out.versions_purged} older version(s) removed, {out.suppression_added} keyed hash(es) on the suppression list; "
                 f"certificate {cert.get('id')}, rescan {'found nothing' if passed else 'FOUND REMAINS'}")
            if not passed:
                return 1
        elif args.dsr_command in ("restrict", "object"):
            out = dsr.restrict_or_object(store, db, keys, controller, subject, args.dsr_command, actor=_actor())
            _say(f"{args.dsr_command} {out.request_id}: {out.suppression_added} keyed hash(es) listed; later uploads of this person "
                 "are kept out of processing (quarantined with the reason)")
        elif args.dsr_command == "lift":
            n = dsr.lift(db, keys, controller, subject, args.right, actor=_actor())
            _say(f"{args.right} lifted: {n} entr{'y' if n == 1 else 'ies'} removed")
    return 0


@_dsr_guard
def cmd_dsr_forward(args: argparse.Namespace) -> int:
    """A request that reached the processor goes to the controller, by e-mail, at once (DPA III.7)."""
    from pipelines import dsr, register
    from resources.mailer import Mailer

    controller = _controller(args.controller)
    subject = _subject(args)
    with _db() as db:
        profile = register.controller_profile(db, controller)
        to = [a for a in (profile.get("contact_email"), profile.get("dpo_email")) if a]
        if not to:
            raise CliError(f"controller {controller} has no contact address: refinery controller set --controller {controller} --contact-email ...", 1)
        who = ", ".join(x for x in (f"e-mail {subject.email}" if subject.email else "",
                                    f"name {subject.name}" if subject.name else "",
                                    f"company {subject.company}" if subject.company else "") if x)
        body = "\n".join([
            f"A data subject contacted us, your processor, to exercise their right of {args.right} (GDPR Art. 15-22).",
            f"As our agreement requires (section III.7), we forward the request to you, the controller, without acting on it.",
            "",
            f"Received: {args.received_at or 'now'}" + (f" via {args.channel}" if args.channel else ""),
            f"Identifies themselves by: {who}",
            "",
            "Their message:" if args.message else "",
            args.message or "",
            "",
            "Tell us what to do (for example: refinery dsr access / erase / rectify for this person); we assist within the time the",
            "GDPR gives you to answer (one month).",
        ])
        message_id = Mailer.from_env().send(to, f"[Data-subject request] right of {args.right} — controller {controller}", body)
        hashes = subject.hashes(_keys().hasher(controller))
        rid = dsr._record_request(db, controller, f"forward_{args.right}", hashes, "forwarded",
                                  {"message_id": message_id, "channel": args.channel}, instruction=False, actor=_actor())
    _say(f"request {rid} forwarded to controller {controller} ({len(to)} address(es)); nothing was done to the data")
    return 0


# ------------------------------------------------------------------------------------------------
# incidents
# ------------------------------------------------------------------------------------------------
def _incident_guard(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def wrapped(args: argparse.Namespace) -> int:
        from pipelines.incidents import IncidentError
        from resources.mailer import MailerError

        try:
            return func(args)
        except IncidentError as exc:
            raise CliError(str(exc), code=2) from None
        except MailerError as exc:
            raise CliError(str(exc), code=1) from None

    wrapped.__name__ = func.__name__
    return _guard(wrapped)


def _send_notices(store, db, incident_id: str, *, resend: bool, out: str | None) -> None:
    from pipelines import incidents
    from resources.mailer import Mailer

    incident = incidents.get_incident(db, incident_id)
    if out:
        for controller in incident["controllers"]:
            n = incidents.notice(store, db, incident, controller)
            path = Path(out) / f"{incident_id}-{controller}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(incidents.render_notice(n), "utf-8")
        _say(f"notices written to {out}/")
    if not os.environ.get("REFINERY_SMTP_HOST"):
        _say(f"notices NOT sent: no mail relay configured (REFINERY_SMTP_HOST); send with: refinery incident notify {incident_id}")
        return
    sent = incidents.notify(store, db, Mailer.from_env(), incident_id, resend=resend)
    for n in sent:
        _say(f"notice sent to controller {n['controller']['id']}: ~{n['records_concerned_approx']:,} records, "
             f"~{n['data_subjects_concerned_approx']:,} people")


@_incident_guard
def cmd_incident_open(args: argparse.Namespace) -> int:
    from pipelines import incidents

    store = _store()
    with _db() as db:
        incident = incidents.open_incident(
            db, nature=args.nature, aware_at=args.aware_at, controllers=[_controller(c) for c in args.controller],
            uploads=args.upload or [], consequences=args.consequences, measures=args.measures,
        )
        _say(f"incident {incident['id']} opened for {', '.join(incident['controllers'])}; deadline {incidents.iso(incidents.deadline(incident))}: "
             + incidents.describe_time_left(incident))
        if not args.no_send:
            _send_notices(store, db, incident["id"], resend=False, out=args.out)
    print(incident["id"])
    return 0


@_incident_guard
def cmd_incident_update(args: argparse.Namespace) -> int:
    from pipelines import incidents

    store = _store()
    with _db() as db:
        incident = incidents.update_incident(
            db, args.id, controllers=[_controller(c) for c in args.controller or []], uploads=args.upload or [],
            measures=args.measures, consequences=args.consequences, status=args.status, nature=args.nature,
        )
        _say(f"incident {incident['id']} updated ({incident['history'][-1]['change']}): " + incidents.describe_time_left(incident))
        if args.send:
            _send_notices(store, db, incident["id"], resend=True, out=args.out)
    return 0


@_incident_guard
def cmd_incident_notify(args: argparse.Namespace) -> int:
    store = _store()
    with _db() as db:
        _send_notices(store, db, args.id, resend=args.resend, out=args.out)
    return 0


@_incident_guard
def cmd_incident_list(args: argparse.Namespace) -> int:
    from pipelines import incidents

    with _db() as db:
        rows = incidents.list_incidents(db)
    if args.format == "json":
        now = incidents.utc_now()
        sys.stdout.write(json.dumps([r | {"deadline": incidents.iso(incidents.deadline(r)),
                                          "time_left": incidents.describe_time_left(r, now)} for r in rows], indent=2) + "\n")
        return 0
    for r in rows:
        print(f"{r['id']}  {r['status']:<9} aware {r['aware_at']}  controllers {','.join(r['controllers'])}  "
              f"notified {len(r.get('notices', {}))}/{len(r['controllers'])}  {incidents.describe_time_left(r)}")
    return 0


# ------------------------------------------------------------------------------------------------
# audit bundle
# ------------------------------------------------------------------------------------------------
@_guard
def cmd_audit_bundle(args: argparse.Namespace) -> int:
    from pipelines import register_audit

    store = _store()
    instance = _instance() if os.environ.get("DAGSTER_HOME") else None
    try:
        with _db() as db:
            manifest = register_audit.build_bundle(store, db, args.out, instance=instance,
                                                   controllers=[_controller(c) for c in args.controller] if args.controller else None)
    finally:
        if instance is not None:
            instance.dispose()
    target = Path(args.out)
    if args.zip:
        target = register_audit.zip_bundle(args.out, Path(str(args.out).rstrip("/") + ".zip"))
    _say(f"audit bundle: {len(manifest['files'])} file(s) for {len(manifest['controllers'])} controller(s) in {target} "
         f"(manifest hash {manifest['files_hash'][:16]})")
    return 0


@_guard
def cmd_audit_verify(args: argparse.Namespace) -> int:
    from pipelines import register_audit

    problems = register_audit.verify_bundle(args.path)
    if problems:
        for p in problems:
            print(f"refinery: {p}", file=sys.stderr)
        raise CliError(f"{args.path}: {len(problems)} problem(s)", code=1)
    _say(f"{args.path}: every file matches the manifest")
    return 0


def _add_subject_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--controller", required=True)
    p.add_argument("--email", help="the person's e-mail address")
    p.add_argument("--name", help="the person's name (with --company)")
    p.add_argument("--company", help="the person's company (with --name)")


def _add_dsr_incident_audit(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("dsr", help="data-subject rights for one person across everything stored for a controller")
    d_sub = d.add_subparsers(dest="dsr_command", required=True)
    for name, text in (("access", "everything stored about the person, with provenance and location"),
                       ("export", "the person's data in a structured, machine-readable form (portability)")):
        p = d_sub.add_parser(name, help=text)
        _add_subject_options(p)
        p.add_argument("--format", choices=["json", "csv"], default="json")
        p.add_argument("--out", help="file to write (default: standard output)")
        p.set_defaults(func=cmd_dsr)
    p = d_sub.add_parser("rectify", help="correct fields of the person's records everywhere they are stored")
    _add_subject_options(p)
    p.add_argument("--set", action="append", metavar="FIELD=VALUE", help="e.g. --set last_name=Martin (repeatable)")
    p.set_defaults(func=cmd_dsr)
    p = d_sub.add_parser("erase", help="rewrite every stored file without the person; keep only a keyed hash to suppress them later")
    _add_subject_options(p)
    p.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")
    p.set_defaults(func=cmd_dsr)
    for name, text in (("restrict", "keep the person out of processing in every later upload (stored, not processed)"),
                       ("object", "the person objects: their rows in later uploads are not stored nor processed")):
        p = d_sub.add_parser(name, help=text)
        _add_subject_options(p)
        p.set_defaults(func=cmd_dsr)
    p = d_sub.add_parser("lift", help="end a restriction or objection")
    _add_subject_options(p)
    p.add_argument("--right", choices=["restrict", "object"], required=True)
    p.set_defaults(func=cmd_dsr)
    p = d_sub.add_parser("forward", help="forward a request that reached the processor to the controller, by e-mail")
    _add_subject_options(p)
    p.add_argument("--right", required=True, choices=["access", "rectification", "erasure", "restriction", "objection", "portability",
                                                      "automated decision"])
    p.add_argument("--message", help="what the person wrote")
    p.add_argument("--received-at", help="when the request arrived (ISO time)")
    p.add_argument("--channel", help="how it arrived (e-mail, letter, phone...)")
    p.set_defaults(func=cmd_dsr_forward)

    inc = sub.add_parser("incident", help="personal data breaches: record, notify controllers (Art. 33), track the 72 h")
    i_sub = inc.add_subparsers(dest="incident_command", required=True)
    p = i_sub.add_parser("open", help="record a breach; builds and e-mails each affected controller's notice")
    p.add_argument("--nature", required=True, help="what happened (no personal data)")
    p.add_argument("--aware-at", required=True, help="when the processor became aware (ISO time)")
    p.add_argument("--controller", action="append", required=True, help="an affected controller (repeatable)")
    p.add_argument("--upload", action="append", help="an affected upload id (repeatable; default: every upload held)")
    p.add_argument("--consequences", help="likely consequences (default: derived from the data categories)")
    p.add_argument("--measures", help="measures taken or proposed")
    p.add_argument("--out", help="also write the notices to this folder")
    p.add_argument("--no-send", action="store_true", help="record only; send later with `incident notify`")
    p.set_defaults(func=cmd_incident_open)
    p = i_sub.add_parser("update", help="add measures, controllers, uploads; change the status")
    p.add_argument("id")
    p.add_argument("--nature")
    p.add_argument("--controller", action="append")
    p.add_argument("--upload", action="append")
    p.add_argument("--consequences")
    p.add_argument("--measures")
    p.add_argument("--status", choices=["open", "contained", "closed"])
    p.add_argument("--send", action="store_true", help="send the updated notices (Art. 33(4): information in phases)")
    p.add_argument("--out")
    p.set_defaults(func=cmd_incident_update)
    p = i_sub.add_parser("notify", help="send the notices not sent yet")
    p.add_argument("id")
    p.add_argument("--resend", action="store_true")
    p.add_argument("--out")
    p.set_defaults(func=cmd_incident_notify)
    p = i_sub.add_parser("list", help="incidents, notices sent, time left to the 72-hour deadline")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=cmd_incident_list)

    a = sub.add_parser("audit", help="the audit bundle: register, instruction log, certificates, incidents, with hashes")
    a_sub = a.add_subparsers(dest="audit_command", required=True)
    p = a_sub.add_parser("bundle", help="write the bundle into a new folder")
    p.add_argument("--out", required=True)
    p.add_argument("--controller", action="append", help="only these controllers' registers (default: all)")
    p.add_argument("--zip", action="store_true", help="also write OUT.zip")
    p.set_defaults(func=cmd_audit_bundle)
    p = a_sub.add_parser("verify", help="check a bundle (folder or zip) against its manifest")
    p.add_argument("path")
    p.set_defaults(func=cmd_audit_verify)
