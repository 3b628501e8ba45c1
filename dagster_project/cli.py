"""`refinery`: run the pipeline on a file with the embedded default, nothing to start.

    refinery run FILE [--controller ID] [--out DIR] [--keep-input-format] [--country FR] [--language fr]
                 [--settings FILE] [--enable NAME[,NAME...]] [--provenance]
    refinery sample [--rows N] [--out FILE]      a generated messy contact list to try it on
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import glob
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

EXPORT_FILES = (
    "contacts.csv", "golden.csv", "contacts.parquet", "golden.parquet",
    "duplicates.csv", "duplicates.xlsx", "merge_audit.csv", "review.csv", "summary.json",
)


def _fail(message: str, code: int = 2) -> int:
    print(f"refinery: error: {message}", file=sys.stderr)
    return code


class _LiveProgress:
    """Stands in for ProgressResource in CLI runs: prints each stage as it finishes and, while a
    long stage runs, a live line saying it is alive and how far it has got (the stage's own notes,
    such as the step of standardisation or the candidate pairs scored, and DuckDB's progress of
    the running query). On a terminal the line is rewritten every second; otherwise (a log file,
    the benchmarks) one line is added every `REFINERY_PROGRESS_SECONDS` (default 30)."""

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        default = 1.0 if self.tty else 30.0
        try:
            self.interval = float(os.environ.get("REFINERY_PROGRESS_SECONDS") or default)
        except ValueError:
            self.interval = default
        self._lock = threading.Lock()
        self._live = False  # a live line is on screen (TTY only)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "_LiveProgress":
        if self.interval > 0:
            self._thread = threading.Thread(target=self._run, name="refinery-progress", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._clear()

    def reporter(self):
        from resources.dagster_resources import ProgressReporter

        live = self

        class _Reporter(ProgressReporter):  # the live line is cleared before a stage line
            def stage(self, name: str, rows: int, seconds: float, detail: str = "") -> None:
                from pipelines import progress

                progress.finish(name)
                with live._lock:
                    live._clear_locked()
                    super().stage(name, rows, seconds, detail)

        return _Reporter(stream=self.stream, enabled=True, memory=True)

    def line(self) -> str | None:
        """The live line for the running stage, or None when no stage is running."""
        from pipelines import progress

        running = progress.current()
        if running is None:
            return None
        stage, since = running
        snap = progress.snapshot(stage)
        parts = [f"{time.monotonic() - since:,.0f} s"]
        if snap.text:
            parts.append(snap.text)
        if snap.query_percent is not None:
            parts.append(f"query {snap.query_percent:.0f} %")
        return f"  … {stage}: " + ", ".join(parts)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            text = self.line()
            if text is None:
                continue
            with self._lock:
                if self.tty:
                    self.stream.write("\r\x1b[K" + text[:200])
                    self._live = True
                else:
                    self.stream.write(text + "\n")
                self.stream.flush()

    def _clear_locked(self) -> None:
        if self._live:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._live = False

    def _clear(self) -> None:
        with self._lock:
            self._clear_locked()


@contextlib.contextmanager
def _outputs_not_kept():
    """Run `materialize` without Dagster keeping every asset's output in memory until the run ends.

    `materialize` executes in process with output capture on (so that tests can read outputs
    back from the result): every stage's table stays referenced for the whole run, and a
    1M-row upload peaked at 11 GiB, growing stage after stage. The outputs are in the IO
    manager's store already and the CLI reads only success and events, so capture is switched
    off for this call. (Dagster 1.13 offers no public switch: this wraps the function
    `JobDefinition.execute_in_process` imports at call time; if it is not there, nothing changes.)"""
    try:
        from dagster._core.execution import execute_in_process as eip
    except ImportError:  # a Dagster without that module: run as is
        yield
        return
    original = getattr(eip, "core_execute_in_process", None)
    if original is None:
        yield
        return

    def without_capture(*args, **kwargs):
        if "output_capturing_enabled" in kwargs:
            kwargs["output_capturing_enabled"] = False
        return original(*args, **kwargs)

    eip.core_execute_in_process = without_capture
    try:
        yield
    finally:
        eip.core_execute_in_process = original


@contextlib.contextmanager
def _instance(on_disk: bool = False):
    """With DAGSTER_HOME set, runs land in that instance (and show in `dagster dev`); otherwise
    an in-memory instance (nothing to set up, nothing left behind), or, `on_disk`, a temporary
    one that stage processes can reach, removed afterwards."""
    import tempfile

    from dagster import DagsterInstance

    if os.environ.get("DAGSTER_HOME"):
        with DagsterInstance.get() as instance:
            yield instance
    elif on_disk:
        with tempfile.TemporaryDirectory(prefix="refinery-dagster-") as home:
            # (Without a level, each stage process logs Dagster's debug events to the terminal.)
            with DagsterInstance.local_temp(home, overrides={"python_logs": {"python_log_level": "CRITICAL"}}) as instance:
                yield instance
    else:
        with DagsterInstance.ephemeral() as instance:
            yield instance


# Exceptions whose messages are written for the operator (one line, actionable, nothing personal).
OPERATOR_ERRORS = frozenset({"S3StoreError", "RecordsError", "ImapError", "MailboxExportError", "MasterChangedError",
                             "MasterBusyError", "MasterIntegrityError",
                             "InputFileError", "ReferenceFileError"})


def _step_failure_message(result) -> str:
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            if data and data.user_failure_data and data.user_failure_data.description:
                return data.user_failure_data.description
            if data and data.error:
                # The user-code error is the innermost cause; Dagster's wrapper says only which op.
                error = data.error
                while error.cause is not None:
                    error = error.cause
                first = error.message.strip().splitlines()[0] if error.message.strip() else ""
                # "resources.s3_store.S3StoreError: S3 put of ..." -> the message alone.
                first = re.sub(rf"^[\w.]*{re.escape(error.cls_name)}: ", "", first)
                if error.cls_name in OPERATOR_ERRORS:
                    # Errors written for the operator (what failed, what to do): said as they are.
                    return f"{event.step_key}: {first}"
                return f"internal error in {event.step_key}: {error.cls_name}: {first}"
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed and evaluation.blocking:
                return f"blocking check {evaluation.asset_check_key.name} failed"
    return "the run failed"


@contextlib.contextmanager
def _environment(**values: str):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _run_stage_processes(upload_id: str, tags: dict[str, str], run_config: dict) -> str | None:
    """Run the upload with a process per stage (dagster_project/stage_processes.py): each stage
    prints its own line. Returns the failure message, or None."""
    from dagster import execute_job, reconstructable

    from assets.uploads import uploads_partitions
    from dagster_project import stage_processes

    print("refinery: a large upload: each stage runs in a process of its own", file=sys.stderr)
    # Stage processes start afresh: library warnings silenced there too (see main()).
    with _instance(on_disk=True) as instance, _environment(PYTHONWARNINGS="ignore"):
        instance.add_dynamic_partitions(uploads_partitions.name, [upload_id])
        with execute_job(
            reconstructable(stage_processes.upload_job),
            instance=instance,
            run_config={**run_config, **stage_processes.STAGE_PROCESSES_RUN_CONFIG},
            tags={**tags, "dagster/partition": upload_id},
            raise_on_error=False,
        ) as result:
            return None if result.success else _step_failure_message(result)


def check_out_dir(out_dir: Path) -> str | None:
    """Why `--out` cannot take an export (checked before the run starts), or None."""
    if out_dir.exists() and not out_dir.is_dir():
        return f"--out {out_dir}: is a file, not a folder"
    ancestor = out_dir if out_dir.exists() else out_dir.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"--out {out_dir}: {ancestor} is a file, not a folder"
    if not os.access(ancestor, os.W_OK | os.X_OK) or (out_dir.exists() and not os.access(out_dir.parent, os.W_OK | os.X_OK)):
        return f"--out {out_dir}: not writable"
    return None


def download_export(store, controller: str, run_id: str, names: tuple[str, ...], out_dir: Path) -> dict:
    """Copy a finished export (upload or mailbox scan) from the store to `out_dir`; its summary.

    All or nothing: the files are downloaded into a temporary folder beside `out_dir` first (a full
    disk fails there, leaving the previous export untouched), then the folder is renamed into place;
    over an earlier export the files are moved in one by one with summary.json removed first and
    written last, so a folder with a summary.json always holds one complete export."""
    from resources import failpoints
    from resources.layout import export_prefix

    prefix = export_prefix(controller, run_id)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_staging(out_dir)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-{os.getpid()}-", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # the folder it becomes gets the usual permissions, not mkdtemp's 0700
    try:
        for name in names:
            store.download(prefix + name, staging / name)
        failpoints.reached("out-staged")
        summary = json.loads((staging / "summary.json").read_text("utf-8"))
        if not out_dir.exists():
            staging.rename(out_dir)
            return summary
        (out_dir / "summary.json").unlink(missing_ok=True)
        for name in names:
            if name != "summary.json":
                os.replace(staging / name, out_dir / name)
                failpoints.reached("out-moved")
        os.replace(staging / "summary.json", out_dir / "summary.json")
        return summary
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _remove_dead_staging(out_dir: Path) -> None:
    """Staging folders beside `out_dir` left by a killed run (personal data outside the store): the
    process that made one is named in it; one whose process is gone is removed."""
    for folder in out_dir.parent.glob(f".{glob.escape(out_dir.name)}.tmp-*"):
        pid = folder.name.rsplit(".tmp-", 1)[-1].split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:  # alive, another user's
            continue


def upload_for_file(store, controller: str, path: Path) -> tuple[str, bool]:
    """The upload a file becomes: the one these same bytes became before (re-run: its records are
    replaced, never added twice), or a new one. Returns (upload id, whether it was sent before).
    The records database keeps only a keyed hash of the bytes (resources/keys.py)."""
    import hashlib

    from resources.instruction_log import RecordsDB
    from resources.keys import KeyStore
    from resources.uploads import new_upload_id

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    source_hash = KeyStore.from_env().hasher(controller).hash("source_file", digest.hexdigest())
    with RecordsDB.from_env() as db, db.tx(lock="upload_sources"):  # two runs of one file at once: one upload
        row = db.one("SELECT upload_id FROM upload_sources WHERE store = ? AND controller = ? AND source_hash = ?",
                     (store.identity(), controller, source_hash))
        # Unless that upload was deleted since (retention, off-boarding): then this is a new one. Its
        # manifest may not be written yet (the same file started twice at once): the id still holds.
        if row is not None and not db.one(
            "SELECT 1 AS gone FROM uploads WHERE upload_id = ? AND deleted_at IS NOT NULL", (row["upload_id"],)
        ):
            return row["upload_id"], True
        upload_id = new_upload_id()
        db.run("DELETE FROM upload_sources WHERE store = ? AND controller = ? AND source_hash = ?",
               (store.identity(), controller, source_hash))
        db.run("INSERT INTO upload_sources (store, controller, source_hash, upload_id, recorded_at) VALUES (?, ?, ?, ?, ?)",
               (store.identity(), controller, source_hash, upload_id, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
    return upload_id, False


def authorise_command(store, controller: str, run_settings, sources: list[str], run_options: dict):
    """A command run by hand is itself the controller's instruction (DPA III.2): the standing
    settings are recorded if they changed, then this run; refused (InstructionRefused) after the
    end of the contract. Returns the run instruction."""
    from pipelines import controller_settings
    from pipelines.instructions import authorise_cli_run
    from resources.instruction_log import RecordsDB

    stored, stored_sources = controller_settings.resolve(store, controller)
    with RecordsDB.from_env() as db:
        return authorise_cli_run(
            db, controller, run_settings.to_dict(), sources, run_options,
            stored_settings=stored.to_dict(), stored_sources=stored_sources, actor=os.environ.get("USER"),
        )


def cmd_run(args: argparse.Namespace) -> int:
    from dagster_project.settings import Settings
    from resources.layout import check_controller

    path = Path(args.file)
    if not path.is_file():
        return _fail(f"{path}: {'is a directory, not a file' if path.is_dir() else 'file not found'}")
    if path.stat().st_size == 0:
        return _fail(f"{path}: the file is empty")
    try:
        settings = Settings.from_env()
        controller = check_controller(args.controller or settings.default_controller)
    except ValueError as exc:
        return _fail(str(exc))
    out_dir = Path(args.out)
    problem = check_out_dir(out_dir)
    if problem is not None:
        return _fail(problem)

    # The store the pipeline reads: a local folder, or the production bucket with REFINERY_STORAGE=s3.
    from dagster_project.definitions import build_object_store

    store = build_object_store(settings).get()
    from pipelines import controller_settings

    # The controller's instruction for this run: stored settings, --settings, flags. Checked
    # before anything is uploaded; recorded (with its hash) in the manifest.
    try:
        run_settings, sources = controller_settings.resolve(
            store,
            controller,
            settings_file=args.settings,
            enable=[name for group in args.enable or [] for name in group.split(",")],
            language=args.language,
            default_country=args.country,
            provenance_in_csv=args.provenance,
        )
    except controller_settings.SettingsError as exc:
        return _fail(str(exc))
    # `refinery run` is itself the controller's instruction (DPA III.2): recorded, or refused
    # (for instance after the end of the contract) before anything is uploaded.
    from pipelines.instructions import InstructionRefused
    from resources.instruction_log import RecordsError

    run_options = {"keep_input_format": bool(args.keep_input_format), "origin": "cli"}
    try:
        instruction = authorise_command(store, controller, run_settings, sources, run_options)
    except (InstructionRefused, RecordsError, controller_settings.SettingsError) as exc:
        return _fail(str(exc), code=1)
    from resources.keys import KeyProblem

    try:
        upload_id, sent_before = upload_for_file(store, controller, path)
    except (RecordsError, KeyProblem, OSError) as exc:
        return _fail(f"{path}: {exc}", code=1)
    from resources import master_store

    # The controller's lock for the whole run, taken before this upload's files are written: runs of
    # one controller, and two runs of one file, take turns (resources/master_store.py). This process
    # outlives every stage (and stage process): if it is killed, a waiting run sees it at once.
    os.environ[master_store.OWNER_ENV] = master_store.this_owner()
    lease = master_store.one_off_holder("cli")

    def waiting(other: master_store.LockHolder) -> None:
        print(f"refinery: waiting for the master data of controller {controller}: held by {other.purpose}", file=sys.stderr)

    try:
        with master_store.held(store, controller, lease, f"upload {upload_id}", keep=False, on_wait=waiting):
            return _run_upload(args, path, store, settings, controller, upload_id, sent_before, instruction,
                               run_options, run_settings, sources, out_dir, lease)
    except (master_store.MasterBusyError, RecordsError) as exc:
        return _fail(f"{path}: {exc}", code=1)


def _run_upload(args, path: Path, store, settings, controller: str, upload_id: str, sent_before: bool, instruction,
                run_options: dict, run_settings, sources, out_dir: Path, lease: str) -> int:
    """cmd_run once the controller's lock is held: the manifest, the run, the copy to --out."""
    from dagster import materialize

    from assets.checks import ALL_CHECKS
    from assets.uploads import uploads_partitions
    from dagster_project import stage_processes
    from dagster_project.definitions import CONTACT_ASSETS, build_resources
    from pipelines import controller_settings
    from pipelines.instructions import INSTRUCTION_TAG
    from resources import master_store
    from resources.uploads import UploadManifest

    source_key = f"uploads/{controller}/{upload_id}{path.suffix.lower()}"
    # Sent before: the same upload again, under this run's instruction, with its first arrival time
    # (the retention clock does not restart).
    received_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if sent_before:
        with contextlib.suppress(LookupError):
            received_at = UploadManifest.load(store, upload_id).received_at
    if not sent_before or not store.exists(source_key):
        store.put_file(source_key, path)
    options = controller_settings.record(
        {**run_options, "instruction_id": instruction.id}, run_settings, sources
    )
    manifest = UploadManifest(
        upload_id=upload_id,
        controller=controller,
        source_key=source_key,
        received_at=received_at,
        options=options,
    )
    manifest.save(store)

    print(f"refinery: upload {upload_id} for controller {controller}", file=sys.stderr)
    if sent_before:
        print(f"refinery: this file was sent before as upload {upload_id}: it runs again, its records replaced, "
              "not added a second time", file=sys.stderr)
    started = time.perf_counter()
    from pipelines import progress as progress_notes

    progress_notes.reset()
    # The modules imported so far (Dagster, Splink, DuckDB, GX...) live until the process ends:
    # frozen, they are left out of the garbage collections run after each stage (0.17 s a stage at 1M).
    gc.freeze()
    tags = {"refinery/origin": "cli", "refinery/controller": controller, INSTRUCTION_TAG: instruction.id,
            master_store.RUN_LEASE_TAG: lease}
    run_config = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    if stage_processes.process_per_stage(path.stat().st_size):
        failure = _run_stage_processes(upload_id, tags, run_config)
    else:
        live = _LiveProgress().start()
        resources = build_resources(settings) | {"progress": live}
        try:
            with _instance() as instance:
                instance.add_dynamic_partitions(uploads_partitions.name, [upload_id])
                with _outputs_not_kept():
                    result = materialize(
                        [*CONTACT_ASSETS, *ALL_CHECKS],
                        partition_key=upload_id,
                        instance=instance,
                        resources=resources,
                        raise_on_error=False,
                        run_config=run_config,
                        tags=tags,
                    )
        finally:
            live.stop()
        failure = None if result.success else _step_failure_message(result)
    if failure is not None:
        return _fail(f"{path}: {failure}", code=1)

    try:
        summary = download_export(store, controller, upload_id, EXPORT_FILES, out_dir)
    except OSError as exc:
        return _fail(
            f"--out {out_dir}: the export could not be written there ({exc.strerror or type(exc).__name__}); upload "
            f"{upload_id} is complete in the store: make room and run the same command again (the same file re-runs "
            "the same upload)", code=1)
    elapsed = time.perf_counter() - started
    merged = summary["rows_ok"] - summary["golden_records"]
    print(
        f"refinery: {summary['rows_in']:,} rows in, {summary['rows_out']:,} rows out "
        f"({summary['rows_quarantined']:,} quarantined), {summary['golden_records']:,} golden records "
        f"({merged:,} duplicates merged) in {elapsed:.1f} s",
        file=sys.stderr,
    )
    print(f"refinery: exports written to {out_dir}/ ({', '.join(EXPORT_FILES[:2])}, Parquet copies)", file=sys.stderr)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from bench.generator import generate, write_file

    messy, _truth = generate(args.rows, seed=args.seed, profile="fr")
    out = Path(args.out)
    write_file(messy, out, fmt="csv", encoding="cp1252", delimiter=";", header_lang="fr")
    print(f"refinery: wrote {args.rows:,} generated contacts (French Excel export, cp1252, ';') to {out}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="refinery", description="Clean, enrich and deduplicate contact lists.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="process one contact file end to end on the embedded default")
    run.add_argument("file", help="CSV (any common encoding and delimiter) or XLSX")
    run.add_argument("--controller", help="the client (controller) id; default $REFINERY_DEFAULT_CONTROLLER or 'default'")
    run.add_argument("--out", default="out", help="folder for the exported files (default: ./out)")
    run.add_argument("--keep-input-format", action="store_true", help="write CSVs in the input's encoding and delimiter")
    run.add_argument("--country", help="default country for phone numbers and civility (ISO alpha-2; default: settings, else FR)")
    run.add_argument("--language", choices=["fr", "en"], help="output language, civility labels (default: settings, else fr)")
    run.add_argument("--settings", metavar="FILE", help="one-off controller settings (YAML or JSON, see docs/settings.md)")
    run.add_argument(
        "--enable", action="append", metavar="NAME[,NAME...]",
        help="turn enrichments on for this run: civility, email_finding, verification, company_reference, job_classification",
    )
    run.add_argument("--provenance", action="store_true", help="add the per-field provenance to contacts.csv too")
    run.set_defaults(func=cmd_run)
    sample = sub.add_parser("sample", help="write a generated messy contact list to try the pipeline on")
    sample.add_argument("--rows", type=int, default=1000)
    sample.add_argument("--seed", type=int, default=1)
    sample.add_argument("--out", default="sample.csv")
    sample.set_defaults(func=cmd_sample)
    from dagster_project import cli_master, cli_review

    cli_master.add_parser(sub)
    cli_review.add_parser(sub)
    from dagster_project import cli_gdpr

    cli_gdpr.add_parsers(sub)
    from dagster_project import cli_mailbox

    cli_mailbox.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Library chatter (Dagster preview warnings, Splink info logs) is not for the operator's terminal.
    warnings.filterwarnings("ignore")
    # (Splink warns that levels never seen in random sampling, such as a typo in an e-mail domain,
    # keep their default u: expected, and not something the operator can act on.)
    logging.getLogger("splink").setLevel(logging.ERROR)
    return args.func(args)


def run() -> None:
    """Console-script entry point. Exits without interpreter teardown: all files are written and
    published by then, and Arrow's and DuckDB's native thread pools can abort the process at
    teardown under load ("terminate called without an active exception"), turning a finished
    run into a crash."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
