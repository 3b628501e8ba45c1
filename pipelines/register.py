"""The register of processing activities (Art. 30(2), DPA III.11), per controller, built from what
actually ran — the Dagster event log (materialisations: which assets, which enrichments, which
columns, how many rows) — the asset declarations (pipelines/register_catalog.py) and the
processor's records (instructions, certificates, requests, incidents).

Art. 30(2): (a) name and contact details of the processor, of each controller, and of the DPO;
(b) the categories of processing carried out on behalf of each controller; (c) transfers to a
third country (none, with the check that shows it); (d) the security measures. Added: data
categories, data subjects, sub-processors and their location, retention, storage locations.

Without a persistent Dagster instance (`refinery run` with no DAGSTER_HOME), what ran is taken
from the instruction log's run links, and the register says so.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import html
import io
import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipelines import instructions
from pipelines import register_catalog as catalog
from pipelines import retention
from resources.instruction_log import RecordsDB
from resources.layout import CONTROLLER_RE, check_controller
from resources.object_store import ObjectStore

REGISTER_VERSION = 1
COMPLIANCE_PREFIX = "compliance/"
FORMATS = ("json", "csv", "md", "html")
NOT_CONFIGURED = "(not configured)"


def register_prefix(controller: str) -> str:
    return f"{COMPLIANCE_PREFIX}register/{check_controller(controller)}/"


# ------------------------------------------------------------------------------------------------
# Parties
# ------------------------------------------------------------------------------------------------
PROFILE_FIELDS = ("name", "address", "contact_email", "dpo_name", "dpo_email", "representative")


def processor_profile(env: dict[str, str] | None = None) -> dict[str, Any]:
    """REFINERY_PROCESSOR_FILE (YAML: name, address, contact_email, dpo_name, dpo_email,
    sub_processors) or REFINERY_PROCESSOR_<FIELD> variables."""
    env = dict(os.environ if env is None else env)
    data: dict[str, Any] = {}
    path = env.get("REFINERY_PROCESSOR_FILE")
    if path:
        try:
            data = yaml.safe_load(Path(path).read_text("utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"REFINERY_PROCESSOR_FILE={path}: cannot be read ({exc.__class__.__name__})") from None
    for name in PROFILE_FIELDS:
        value = env.get(f"REFINERY_PROCESSOR_{name.upper()}")
        if value:
            data[name] = value
    return {name: data.get(name) or NOT_CONFIGURED for name in PROFILE_FIELDS} | {
        "sub_processors": data.get("sub_processors") or DEFAULT_SUB_PROCESSORS
    }


# DPA III.6: the sub-processors the controller accepted, all with servers in the EU.
DEFAULT_SUB_PROCESSORS = [
    {"name": "Amazon Web Services EMEA SARL", "address": "Burlington Plaza, Burlington Rd, Dublin 4, Ireland",
     "location": "Ireland (eu-west-1)", "role": "object storage (S3)", "match": ["amazonaws.com", "aws"]},
    {"name": "ONLINE SAS (Scaleway)", "address": "8 rue de la Ville l'Evêque, 75008 Paris, France",
     "location": "France", "role": "object storage (S3-compatible)", "match": ["scw.cloud", "scaleway"]},
    {"name": "OVH SAS", "address": "2 rue Kellermann, 59100 Roubaix, France",
     "location": "France", "role": "object storage (S3-compatible)", "match": ["ovh.net", "ovh"]},
]


def set_controller_profile(db: RecordsDB, controller: str, **values: str | None) -> dict[str, Any]:
    check_controller(controller)
    current = controller_profile(db, controller)
    profile = {k: (values.get(k) if values.get(k) is not None else current.get(k)) for k in PROFILE_FIELDS}
    now = instructions.iso(instructions.utc_now())
    with db.tx():
        db.run("DELETE FROM controller_profiles WHERE controller = ?", [controller])
        db.run("INSERT INTO controller_profiles (controller, profile, updated_at) VALUES (?, ?, ?)",
               [controller, RecordsDB.dumps(profile), now])
    return profile


def controller_profile(db: RecordsDB, controller: str) -> dict[str, Any]:
    row = db.one("SELECT profile FROM controller_profiles WHERE controller = ?", [controller])
    return json.loads(row["profile"]) if row else {}


# ------------------------------------------------------------------------------------------------
# What ran: the event log
# ------------------------------------------------------------------------------------------------
@dataclass
class UploadFacts:
    upload_id: str
    controller: str | None = None
    assets: set[str] = field(default_factory=set)
    columns: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    recognised_fields: set[str] = field(default_factory=set)
    unrecognised_columns: int = 0
    enrichments: set[str] = field(default_factory=set)
    rows: int | None = None
    persons: int | None = None
    quarantined: int | None = None
    runs: set[str] = field(default_factory=set)
    first_at: float | None = None
    last_at: float | None = None

    def saw(self, timestamp: float) -> None:
        self.first_at = timestamp if self.first_at is None else min(self.first_at, timestamp)
        self.last_at = timestamp if self.last_at is None else max(self.last_at, timestamp)


def _meta_value(meta: dict[str, Any], key: str) -> Any:
    value = meta.get(key)
    return getattr(value, "value", value) if value is not None else None


def observe(instance: Any) -> dict[str, UploadFacts]:
    """Per upload (partition): what the event log says ran. Reads materialisations only."""
    from dagster import AssetKey

    facts: dict[str, UploadFacts] = {}
    run_controllers: dict[str, str | None] = {}
    for name in catalog.ASSETS:
        cursor = None
        while True:
            result = instance.fetch_materializations(AssetKey(name), limit=1000, cursor=cursor, ascending=True)
            for record in result.records:
                mat = record.asset_materialization
                if mat is None or not mat.partition:
                    continue
                f = facts.setdefault(mat.partition, UploadFacts(mat.partition))
                f.assets.add(name)
                f.runs.add(record.run_id)
                f.saw(record.timestamp)
                meta = dict(mat.metadata or {})
                schema = _meta_value(meta, "dagster/column_schema")
                if schema is not None:
                    f.columns[name].update(c.name for c in schema.columns)
                if name == "raw_upload":
                    f.controller = _meta_value(meta, "controller") or f.controller
                    f.rows = _meta_value(meta, "dagster/row_count")
                    recognised = _meta_value(meta, "recognised_fields") or {}
                    f.recognised_fields.update(recognised)
                    total = _meta_value(meta, "input_columns")
                    if isinstance(total, int):
                        f.unrecognised_columns = max(total - len(recognised), 0)
                if name == "linked_contacts":
                    f.persons = _meta_value(meta, "persons")
                if name == "quarantined_rows":
                    f.quarantined = _meta_value(meta, "dagster/row_count")
                enrichments = _meta_value(meta, "enrichments")
                if isinstance(enrichments, list):
                    f.enrichments.update(enrichments)
                if f.controller is None:
                    if record.run_id not in run_controllers:
                        run = instance.get_run_by_id(record.run_id)
                        run_controllers[record.run_id] = run.tags.get("refinery/controller") if run else None
                    f.controller = run_controllers[record.run_id]
            if not result.has_more:
                break
            cursor = result.cursor
    return facts


def observe_from_records(db: RecordsDB, store: ObjectStore | None = None) -> dict[str, UploadFacts]:
    """Runs the instruction log linked (`authorise_run`), for instances that kept no event log."""
    facts: dict[str, UploadFacts] = {}
    for row in db.all("SELECT * FROM run_links ORDER BY recorded_at"):
        f = facts.setdefault(row["upload_id"], UploadFacts(row["upload_id"], row["controller"]))
        detail = json.loads(row["detail"] or "{}")
        f.enrichments.update(detail.get("enrichments") or [])
        f.runs.add(row["run_id"])
        moment = retention.parse_time(row["recorded_at"])
        if moment:
            f.saw(moment.timestamp())
        f.assets.add("raw_upload")
        if store is not None and f.rows is None:
            _facts_from_store(store, row["controller"], f)
    return facts


def _facts_from_store(store: ObjectStore, controller: str, f: UploadFacts) -> None:
    """What the stored files of a finished upload show: counts, recognised fields, columns."""
    import pyarrow.parquet as pq

    try:
        summary = json.loads(store.get_bytes(f"exports/{controller}/{f.upload_id}/summary.json"))
    except (KeyError, ValueError):
        return
    f.rows, f.quarantined = summary.get("rows_in"), summary.get("rows_quarantined")
    if summary.get("golden_records") is not None:
        f.persons = summary.get("golden_records")  # one golden record per person of the upload
    f.assets.update(a for a, d in catalog.ASSETS.items() if d.personal_data)
    try:  # the enrichments the run's recorded settings enabled
        manifest = json.loads(store.get_bytes(f"manifests/{f.upload_id}.json"))
        f.enrichments.update((manifest.get("options", {}).get("settings") or {}).get("enrichments") or [])
    except (KeyError, ValueError):
        pass
    for asset in ("raw_upload", "enriched_contacts", "linked_contacts"):
        try:
            schema = pq.read_schema(io.BytesIO(store.get_bytes(f"work/{controller}/{f.upload_id}/{asset}.parquet")))
        except (KeyError, OSError):
            continue
        f.columns[asset].update(schema.names)
        source = (schema.metadata or {}).get(b"refinery.source")
        if asset == "raw_upload" and source:
            info = json.loads(source)
            f.recognised_fields.update(info.get("fields", {}))
            f.unrecognised_columns = max(int(info.get("columns", 0)) - len(info.get("fields", {})), 0)


# ------------------------------------------------------------------------------------------------
# Building one controller's register
# ------------------------------------------------------------------------------------------------
def _iso_ts(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def transfer_checks(env: dict[str, str] | None = None, enrichments: set[str] | None = None) -> list[dict[str, Any]]:
    """Every place personal data can go, and whether it is in the EU. Re-runs the same checks as
    start-up (resources/s3_target.py), so the register shows what the code enforces."""
    env = dict(os.environ if env is None else env)
    checks: list[dict[str, Any]] = []
    storage = env.get("REFINERY_STORAGE", "local").strip().lower() or "local"
    if storage == "s3":
        from resources.s3_target import StorageLocationRefused, check_s3_target, parse_extra_endpoints

        try:
            target = check_s3_target(env.get("AWS_REGION"), env.get("REFINERY_S3_ENDPOINT_URL") or None,
                                     parse_extra_endpoints(env.get("REFINERY_S3_EXTRA_EU_ENDPOINTS")))
            checks.append({"component": "object store (S3)", "location": target.where, "eu": True,
                           "how": "EU regions and endpoints only, HTTPS: checked at start-up (resources/s3_target.py)"})
        except (StorageLocationRefused, ValueError) as exc:
            checks.append({"component": "object store (S3)", "location": str(exc), "eu": False, "how": "start-up check failed"})
    else:
        checks.append({"component": "object store", "location": "local folder on the processor's own server", "eu": True,
                       "how": "no network transfer (REFINERY_STORAGE=local)"})
    for component, variable in (("Dagster instance database", "DAGSTER_PG_HOST"), ("records database", "REFINERY_INSTRUCTIONS_DSN"),
                                ("mail relay (notifications to controllers)", "REFINERY_SMTP_HOST")):
        value = env.get(variable, "").strip()
        if not value:
            continue
        host = value
        if variable == "REFINERY_INSTRUCTIONS_DSN":
            from psycopg2.extensions import parse_dsn

            try:
                host = parse_dsn(value).get("host", "") or "local socket"
            except Exception:
                host = "unparsable DSN"
        local = host in ("localhost", "local socket") or host.startswith("127.") or host == "::1" or host.startswith("/")
        checks.append({"component": component, "location": "this machine" if local else f"host {host} (declared EU by the operator)",
                       "eu": True, "how": "TLS required unless on this machine (checked at start-up)"})
    if enrichments and "verification" in enrichments:
        checks.append({"component": "e-mail verification (enabled by the controller)", "location": "the mail server of each address's own domain",
                       "eu": None, "how": "only the address is sent, in an SMTP RCPT TO to its own domain's server; no message, nothing stored there"})
    return checks


SECURITY_MEASURES = [
    "Encryption in transit: S3 over HTTPS only (plain HTTP refused at start-up); PostgreSQL and SMTP over TLS unless on this machine.",
    "Encryption at rest: server-side encryption (SSE-S3 or SSE-KMS) required and confirmed on every object written; encrypted volume for the local store.",
    "Separation per controller: every object under a prefix naming its controller; no processing reads another controller's data.",
    "Pseudonymous ids only outside the data files: partition keys, run tags, run config, logs and asset metadata hold opaque ids and counts, never a value (tested by scanning the Dagster database).",
    "Keyed hashes (HMAC-SHA256) with a per-controller key kept apart from the data for identifiers that must outlive the data; the key is destroyed at off-boarding.",
    "Retention: uploads deleted by a nightly sweep (every object version), with a certificate and a verification rescan.",
    "Documented instructions: every setting and manual run recorded in a hash-chained log; runs without a valid instruction are refused.",
    "Privacy by default: enrichments that infer new personal data are off unless the controller's settings enable them.",
    "No solely automated decision: uncertain matches go to a review file for a person to decide; merges can be undone (refinery unmerge).",
]


def build(
    store: ObjectStore, db: RecordsDB, controller: str, *, facts: dict[str, UploadFacts] | None = None,
    source: str = "event log", env: dict[str, str] | None = None, now: dt.datetime | None = None,
) -> dict[str, Any]:
    check_controller(controller)
    facts = facts if facts is not None else {}
    mine = [f for f in facts.values() if f.controller == controller]
    processor = processor_profile(env)
    profile = controller_profile(db, controller)

    # (b) categories of processing actually carried out
    activities: dict[str, dict[str, Any]] = {}
    for f in mine:
        for asset in sorted(f.assets):
            decl = catalog.ASSETS.get(asset)
            if decl is None or not decl.personal_data:
                continue
            entry = activities.setdefault(decl.activity, {"activity": decl.activity, "service": catalog.SERVICES[decl.service],
                                                           "data_use": decl.data_use, "uploads": set(), "first": None, "last": None})
            entry["uploads"].add(f.upload_id)
            entry["first"] = min(filter(None, [entry["first"], f.first_at]), default=None)
            entry["last"] = max(filter(None, [entry["last"], f.last_at]), default=None)
        for name in sorted(f.enrichments):
            spec = catalog.ENRICHMENT_PROCESSING.get(name)
            if spec is None:
                continue
            activity = f"optional enrichment enabled by the controller: {spec['activity']}"
            entry = activities.setdefault(activity, {"activity": activity, "service": catalog.SERVICES["clean"],
                                                     "data_use": "essential.service.operations", "uploads": set(), "first": None, "last": None})
            entry["uploads"].add(f.upload_id)
            entry["first"] = min(filter(None, [entry["first"], f.first_at]), default=None)
            entry["last"] = max(filter(None, [entry["last"], f.last_at]), default=None)
    certs = retention.certificates(db, controller)
    dsr_rows = db.all("SELECT request_right, status FROM dsr_requests WHERE controller = ?", [controller])
    if certs:
        activities["deletion at the end of retention or of the contract"] = {
            "activity": "deletion at the end of retention or of the contract", "service": catalog.SERVICES["duties"],
            "data_use": "essential.legal_obligation", "uploads": {u for c in certs for u in c.get("upload_ids", [])},
            "first": None, "last": None, "certificates": len(certs)}
    if dsr_rows:
        activities["assistance with data-subject requests"] = {
            "activity": "assistance with data-subject requests", "service": catalog.SERVICES["duties"],
            "data_use": "essential.legal_obligation", "uploads": set(), "first": None, "last": None, "requests": len(dsr_rows)}
    processing = [
        {k: v for k, v in {**a, "uploads": len(a["uploads"]), "first": _iso_ts(a["first"]), "last": _iso_ts(a["last"])}.items()}
        for a in sorted(activities.values(), key=lambda a: a["activity"])
    ]

    # data categories: from the columns each asset actually published
    seen: dict[str, set[str]] = defaultdict(set)
    for f in mine:
        for asset, columns in f.columns.items():
            decl = catalog.ASSETS.get(asset)
            for column in columns:
                if column.startswith("src_"):
                    continue
                categories = catalog.categories_of(column)
                if not categories and decl is not None and decl.columns == "source":
                    # The client's own columns, passed through unchanged: named generically.
                    seen["user"].add("client-defined columns")
                for category in categories:
                    seen[category].add(column)
        for fld in f.recognised_fields:
            for category in catalog.categories_of(fld):
                seen[category].add(fld)
        if f.unrecognised_columns:
            seen["user"].add("client-defined columns")
    inferred = {c for f in mine for e in f.enrichments for c in catalog.ENRICHMENT_PROCESSING.get(e, {}).get("categories", ())}
    data_categories = [
        {"fideslang": c, "label": catalog.CATEGORY_LABELS.get(c, c), "columns": sorted(cols), "inferred_by_enrichment": c in inferred}
        for c, cols in sorted(seen.items()) if c != "system.operations"
    ]

    # sub-processors in use: matched against the configured storage endpoint
    env_ = dict(os.environ if env is None else env)
    storage_hint = " ".join([env_.get("REFINERY_STORAGE", "local"), env_.get("REFINERY_S3_ENDPOINT_URL", ""),
                             "amazonaws.com" if env_.get("REFINERY_STORAGE") == "s3" and not env_.get("REFINERY_S3_ENDPOINT_URL") else ""])
    subs = [{k: v for k, v in s.items() if k != "match"} | {"in_use": any(m in storage_hint for m in s.get("match", []))}
            for s in processor["sub_processors"]]

    enrichments_seen = {e for f in mine for e in f.enrichments}
    checks = transfer_checks(env, enrichments_seen)
    contract_row = instructions.contract(db, controller) or {}
    states = retention.upload_states(store, db, controller) if not contract_row.get("purged_at") else []
    history = instructions.history(db, controller)
    chain = instructions.verify_chain(db)
    incidents = [r for r in db.all("SELECT id, body FROM incidents ORDER BY created_at")
                 if controller in json.loads(r["body"]).get("controllers", [])]
    rows_total = sum(f.rows or 0 for f in mine)
    return {
        "register_version": REGISTER_VERSION,
        "generated_at": instructions.iso(now or instructions.utc_now()),
        "built_from": source,
        "controller": {"id": controller, **{k: profile.get(k) or NOT_CONFIGURED for k in PROFILE_FIELDS}},
        "processor": {k: processor[k] for k in PROFILE_FIELDS},
        "processing_categories": processing,
        "purposes": sorted({catalog.SERVICES[d.service] for d in catalog.ASSETS.values() if d.personal_data}),
        "data_categories": data_categories,
        "data_subjects": [{"fideslang": s, "label": catalog.SUBJECT_LABELS[s]} for s in catalog.DATA_SUBJECTS],
        "volume": {"uploads_processed": len(mine), "rows_processed": rows_total},
        "transfers_outside_eu": {
            "transfers": [c for c in checks if c["eu"] is False],
            "verdict": "none" if all(c["eu"] is not False for c in checks) else "TRANSFER FOUND",
            "checks": checks,
        },
        "security_measures": SECURITY_MEASURES,
        "sub_processors": subs,
        "storage_locations": sorted({d.storage for d in catalog.ASSETS.values() if d.personal_data}),
        "retention": {
            "rule": f"{retention.retention_days(db, controller)} days after each upload's first export (arrival if never exported); "
                    "never more than one month after the end of the contract",
            "retention_days": retention.retention_days(db, controller),
            "contract_end": contract_row.get("end_date"),
            "purge_at": instructions.iso(retention.purge_time(dt.date.fromisoformat(contract_row["end_date"]), contract_row.get("delete_after_days")))
            if contract_row.get("end_date") else None,
            "purged_at": contract_row.get("purged_at"),
            "uploads_held": len(states),
            "next_deadline": instructions.iso(min(s.deadline for s in states)) if states else None,
        },
        "deletion_certificates": [
            {"id": c["id"], "kind": c["kind"], "issued_at": c["issued_at"], "uploads": len(c.get("upload_ids", [])),
             "versions_removed": c.get("versions_removed"), "verification_passed": c["verification"]["passed"],
             "body_hash": c["body_hash"]}
            for c in certs
        ],
        "instructions": {
            "count": len(history),
            "by_kind": dict(sorted(Counter(i.kind for i in history).items())),
            "latest": [{"id": i.id, "kind": i.kind, "origin": i.origin, "created_at": i.created_at, "content_hash": i.content_hash}
                       for i in history[-5:]],
            "log_integrity": "verified" if chain.ok else f"BROKEN: {chain.problem}",
        },
        "data_subject_requests": dict(sorted(Counter(r["request_right"] for r in dsr_rows).items())),
        "incidents": [r["id"] for r in incidents],
    }


def controllers_to_register(store: ObjectStore, db: RecordsDB, facts: dict[str, UploadFacts]) -> list[str]:
    names = set(retention.known_controllers(store, db))
    names.update(f.controller for f in facts.values() if f.controller)
    names.update(r["controller"] for r in db.all("SELECT DISTINCT controller FROM instructions"))
    names.update(r["controller"] for r in db.all("SELECT controller FROM controller_profiles"))
    return sorted(n for n in names if CONTROLLER_RE.match(n))


def gather(store: ObjectStore, db: RecordsDB, instance: Any = None) -> tuple[dict[str, UploadFacts], str]:
    """Event log when there is a persistent instance; the instruction log's run links fill in
    uploads the event log does not know (runs made with an in-memory instance)."""
    facts = observe_from_records(db, store)
    # Uploads that ran before the run hook existed, or with an in-memory instance: their files.
    retention.discover_uploads(store, db)
    for row in db.all("SELECT upload_id, controller FROM uploads WHERE deleted_at IS NULL"):
        if row["upload_id"] not in facts:
            f = UploadFacts(row["upload_id"], row["controller"])
            _facts_from_store(store, row["controller"], f)
            if f.assets:
                facts[f.upload_id] = f
    source = "instruction log and stored files (no persistent Dagster instance)"
    if instance is not None and not getattr(instance, "is_ephemeral", False):
        observed = observe(instance)
        facts.update(observed)  # the event log wins where both know an upload
        source = "Dagster event log + instruction log"
    return facts, source


def build_all(store: ObjectStore, db: RecordsDB, instance: Any = None, controllers: list[str] | None = None) -> list[dict[str, Any]]:
    facts, source = gather(store, db, instance)
    names = controllers or controllers_to_register(store, db, facts)
    return [build(store, db, c, facts=facts, source=source) for c in names]


def register_hash(register: dict[str, Any]) -> str:
    text = json.dumps({k: v for k, v in register.items() if k != "generated_at"}, sort_keys=True, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def publish(store: ObjectStore, registers: list[dict[str, Any]]) -> list[str]:
    keys = []
    for reg in registers:
        prefix = register_prefix(reg["controller"]["id"])
        for fmt in FORMATS:
            store.put_bytes(prefix + f"register.{fmt}", render(reg, fmt).encode("utf-8"))
            keys.append(prefix + f"register.{fmt}")
    return keys


# ------------------------------------------------------------------------------------------------
# Formats
# ------------------------------------------------------------------------------------------------
def render(register: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(register, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return to_csv(register)
    if fmt == "md":
        return to_markdown(register)
    if fmt == "html":
        return to_html(register)
    raise ValueError(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")


def _rows(register: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for section in ("controller", "processor"):
        for k, v in register[section].items():
            rows.append((section, k, str(v)))
    for p in register["processing_categories"]:
        rows.append(("processing", p["activity"], f"{p['service']}; uploads: {p['uploads']}; first: {p['first'] or '-'}; last: {p['last'] or '-'}"))
    for purpose in register["purposes"]:
        rows.append(("purpose", purpose, ""))
    for c in register["data_categories"]:
        rows.append(("data_category", c["fideslang"], f"{c['label']}; columns: {', '.join(c['columns'])}"
                     + ("; inferred by an enrichment" if c["inferred_by_enrichment"] else "")))
    for s in register["data_subjects"]:
        rows.append(("data_subject", s["fideslang"], s["label"]))
    t = register["transfers_outside_eu"]
    rows.append(("transfers_outside_eu", "verdict", t["verdict"]))
    for c in t["checks"]:
        rows.append(("transfer_check", c["component"], f"{c['location']}; EU: {c['eu']}; {c['how']}"))
    for m in register["security_measures"]:
        rows.append(("security_measure", m, ""))
    for s in register["sub_processors"]:
        rows.append(("sub_processor", s["name"], f"{s['role']}; {s['location']}; in use: {s['in_use']}"))
    for loc in register["storage_locations"]:
        rows.append(("storage_location", loc, ""))
    for k, v in register["retention"].items():
        rows.append(("retention", k, "" if v is None else str(v)))
    for c in register["deletion_certificates"]:
        rows.append(("deletion_certificate", c["id"], f"{c['kind']}; {c['issued_at']}; uploads: {c['uploads']}; verification passed: {c['verification_passed']}"))
    i = register["instructions"]
    rows.append(("instructions", "count", str(i["count"])))
    rows.append(("instructions", "log_integrity", i["log_integrity"]))
    for right, n in register["data_subject_requests"].items():
        rows.append(("data_subject_requests", right, str(n)))
    for incident in register["incidents"]:
        rows.append(("incident", incident, ""))
    rows.append(("volume", "uploads_processed", str(register["volume"]["uploads_processed"])))
    rows.append(("volume", "rows_processed", str(register["volume"]["rows_processed"])))
    rows.append(("meta", "generated_at", register["generated_at"]))
    rows.append(("meta", "built_from", register["built_from"]))
    return rows


def to_csv(register: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["section", "item", "detail"])
    writer.writerows(_rows(register))
    return buf.getvalue()


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(register: dict[str, Any]) -> str:
    c, p = register["controller"], register["processor"]
    out = [
        f"# Register of processing activities — controller `{c['id']}`",
        "",
        f"Art. 30(2) GDPR, kept by the processor. Generated {register['generated_at']} from the {register['built_from']}.",
        "",
        "## (a) Parties",
        "",
        "| | Processor | Controller |",
        "|---|---|---|",
    ]
    for k in PROFILE_FIELDS:
        out.append(f"| {k.replace('_', ' ')} | {_md(p[k])} | {_md(c[k])} |")
    out += ["", "## (b) Categories of processing carried out", "", "| activity | service (DPA II) | uploads | first | last |", "|---|---|---|---|---|"]
    for a in register["processing_categories"]:
        out.append(f"| {_md(a['activity'])} | {_md(a['service'])} | {a['uploads']} | {a['first'] or '-'} | {a['last'] or '-'} |")
    if not register["processing_categories"]:
        out.append("| none recorded | | | | |")
    out += ["", "Purposes: " + "; ".join(register["purposes"]) + ".", "",
            "## Data categories (fideslang)", "", "| category | meaning | columns | inferred |", "|---|---|---|---|"]
    for d in register["data_categories"]:
        out.append(f"| `{d['fideslang']}` | {_md(d['label'])} | {_md(', '.join(d['columns']))} | {'yes' if d['inferred_by_enrichment'] else ''} |")
    out += ["", "Data subjects: " + ", ".join(f"{s['label']} (`{s['fideslang']}`)" for s in register["data_subjects"]) + ".", ""]
    t = register["transfers_outside_eu"]
    out += [f"## (c) Transfers outside the EU: **{t['verdict']}**", "", "| component | location | in the EU | how it is checked |", "|---|---|---|---|"]
    for ch in t["checks"]:
        eu = {True: "yes", False: "**no**", None: "n/a"}[ch["eu"]]
        out.append(f"| {_md(ch['component'])} | {_md(ch['location'])} | {eu} | {_md(ch['how'])} |")
    out += ["", "## (d) Security measures", ""] + [f"- {m}" for m in register["security_measures"]]
    out += ["", "## Sub-processors", "", "| name | role | location | in use |", "|---|---|---|---|"]
    for s in register["sub_processors"]:
        out.append(f"| {_md(s['name'])} | {_md(s['role'])} | {_md(s['location'])} | {'yes' if s['in_use'] else 'no'} |")
    r = register["retention"]
    out += ["", "## Retention", "", f"- Rule: {r['rule']}.", f"- Uploads held: {r['uploads_held']}; next deadline: {r['next_deadline'] or '-'}.",
            f"- Contract end: {r['contract_end'] or 'not set'}; everything deleted by: {r['purge_at'] or '-'}"
            + (f" (done {r['purged_at']})" if r['purged_at'] else "") + ".",
            "", "Storage locations:", ""] + [f"- {s}" for s in register["storage_locations"]]
    out += ["", "## Deletion certificates", ""]
    if register["deletion_certificates"]:
        out += ["| id | kind | issued | uploads | verification |", "|---|---|---|---|---|"]
        for cert in register["deletion_certificates"]:
            out.append(f"| {cert['id']} | {cert['kind']} | {cert['issued_at']} | {cert['uploads']} | {'passed' if cert['verification_passed'] else '**FAILED**'} |")
    else:
        out.append("None yet.")
    i = register["instructions"]
    out += ["", "## Instructions", "", f"{i['count']} recorded ({', '.join(f'{k}: {v}' for k, v in i['by_kind'].items()) or 'none'}); log integrity: {i['log_integrity']}."]
    dsr = register["data_subject_requests"]
    out += ["", "## Data-subject requests and incidents", "",
            f"Requests: {', '.join(f'{k}: {v}' for k, v in dsr.items()) or 'none'}. Incidents: {', '.join(register['incidents']) or 'none'}.",
            "", f"Volume: {register['volume']['uploads_processed']} uploads, {register['volume']['rows_processed']} rows.", ""]
    return "\n".join(out)


def to_html(register: dict[str, Any]) -> str:
    """The Markdown's content as a simple standalone page (no external assets, no scripts)."""
    parts = ["<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
             f"<title>Register of processing activities — {html.escape(register['controller']['id'])}</title>",
             "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}td,th{border:1px solid #ccc;padding:.3em}"
             "table{border-collapse:collapse}</style></head><body>"]
    in_table = False
    for line in to_markdown(register).splitlines():
        if line.startswith("|"):
            cells = [html.escape(c.strip().replace("\\|", "|").replace("`", "").replace("**", "")) for c in line.strip("|").split(" | ")]
            if set(line.replace("|", "").strip()) <= {"-"}:
                continue
            if not in_table:
                parts.append("<table>")
                in_table = True
                parts.append("<tr>" + "".join(f"<th>{c}</th>" for c in cells) + "</tr>")
            else:
                parts.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            parts.append("</table>")
            in_table = False
        text = html.escape(line.replace("`", "").replace("**", ""))
        if line.startswith("# "):
            parts.append(f"<h1>{text[2:]}</h1>")
        elif line.startswith("## "):
            parts.append(f"<h2>{text[3:]}</h2>")
        elif line.startswith("- "):
            parts.append(f"<li>{text[2:]}</li>")
        elif line.strip():
            parts.append(f"<p>{text}</p>")
    if in_table:
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
