"""Personal data breaches (DPA III.8, Art. 33(2) and 33(3)): record an incident, build each
affected controller's notice, send it by e-mail, and show the time left to the 72-hour deadline.

The notice has what Art. 33(3) lists: (a) the nature of the breach, the categories and
approximate numbers of data subjects and of records concerned — computed from lineage (the event
log's row and person counts per upload, else the export summaries, and the columns the affected
assets hold); (b) the contact point; (c) the likely consequences; (d) the measures taken or
proposed. The processor notifies the controller "without undue delay" (Art. 33(2)); the DPA
says within 72 hours of awareness, by e-mail.

Incidents are stored in the records database. Their free text (nature, measures) is typed by the
operator and must not name people: the counts are what the controller needs.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from pipelines import register, register_catalog as catalog, retention
from pipelines.instructions import iso, utc_now
from resources.instruction_log import RecordsDB
from resources.layout import check_controller, check_upload_id
from resources.object_store import ObjectStore

DEADLINE = dt.timedelta(hours=72)
STATUSES = ("open", "contained", "closed")
DEFAULT_CONSEQUENCES = {
    "user.contact.email": "unsolicited e-mail, phishing or spam aimed at the people concerned",
    "user.contact.phone_number": "unsolicited calls or SMS (spam, phishing, scams)",
    "user.name.first": "more convincing phishing (messages using the person's name and employer)",
    "user.workplace": "social-engineering attempts against the people's employers",
    "user.job_title": "targeting of people by role (e.g. fake invoice or CEO fraud aimed at finance staff)",
    "user.demographic.gender": "disclosure of a civility that may be wrong or unwanted",
}


class IncidentError(ValueError):
    pass


def _parse_time(text: str, option: str) -> dt.datetime:
    moment = None
    try:
        moment = retention.parse_time(text)
    except ValueError:
        pass
    if moment is None:
        raise IncidentError(f"{option} {text!r}: expected an ISO time such as 2026-11-26T09:30:00Z")
    return moment


def _load(db: RecordsDB, incident_id: str) -> dict[str, Any]:
    row = db.one("SELECT body FROM incidents WHERE id = ?", [incident_id])
    if row is None:
        raise IncidentError(f"no incident {incident_id}")
    return json.loads(row["body"])


def _save(db: RecordsDB, incident: dict[str, Any], *, new: bool = False) -> None:
    body = RecordsDB.dumps(incident)
    if new:
        db.run("INSERT INTO incidents (id, created_at, updated_at, body) VALUES (?, ?, ?, ?)",
               [incident["id"], incident["opened_at"], incident["updated_at"], body])
    else:
        db.run("UPDATE incidents SET updated_at = ?, body = ? WHERE id = ?", [incident["updated_at"], body, incident["id"]])


def open_incident(
    db: RecordsDB, *, nature: str, aware_at: str, controllers: Sequence[str], uploads: Sequence[str] = (),
    consequences: str | None = None, measures: str | None = None, now: dt.datetime | None = None,
) -> dict[str, Any]:
    if not nature.strip():
        raise IncidentError("--nature: describe what happened (no personal data)")
    if not controllers:
        raise IncidentError("--controller: at least one affected controller")
    moment = now or utc_now()
    aware = _parse_time(aware_at, "--aware-at")
    if aware > moment + dt.timedelta(minutes=5):
        raise IncidentError("--aware-at is in the future")
    incident = {
        "id": f"inc-{moment.astimezone(dt.timezone.utc):%Y%m%dt%H%M%S}-{secrets.token_hex(3)}",
        "nature": nature.strip(),
        "aware_at": iso(aware),
        "opened_at": iso(moment),
        "updated_at": iso(moment),
        "status": "open",
        "controllers": sorted({check_controller(c) for c in controllers}),
        "uploads": sorted({check_upload_id(u) for u in uploads}),
        "consequences": consequences,
        "measures": [{"at": iso(moment), "text": measures.strip()}] if measures else [],
        "history": [{"at": iso(moment), "change": "opened"}],
        "notices": {},
    }
    _save(db, incident, new=True)
    return incident


def update_incident(
    db: RecordsDB, incident_id: str, *, controllers: Iterable[str] = (), uploads: Iterable[str] = (),
    measures: str | None = None, consequences: str | None = None, status: str | None = None,
    nature: str | None = None, now: dt.datetime | None = None,
) -> dict[str, Any]:
    incident = _load(db, incident_id)
    moment = iso(now or utc_now())
    changes = []
    new_controllers = sorted({check_controller(c) for c in controllers} - set(incident["controllers"]))
    if new_controllers:
        incident["controllers"] = sorted(set(incident["controllers"]) | set(new_controllers))
        changes.append(f"controllers added: {', '.join(new_controllers)}")
    new_uploads = sorted({check_upload_id(u) for u in uploads} - set(incident["uploads"]))
    if new_uploads:
        incident["uploads"] = sorted(set(incident["uploads"]) | set(new_uploads))
        changes.append(f"{len(new_uploads)} upload(s) added")
    if measures:
        incident["measures"].append({"at": moment, "text": measures.strip()})
        changes.append("measure recorded")
    if consequences:
        incident["consequences"] = consequences
        changes.append("likely consequences updated")
    if nature:
        incident["nature"] = nature.strip()
        changes.append("nature updated")
    if status:
        if status not in STATUSES:
            raise IncidentError(f"--status {status!r}: expected one of {', '.join(STATUSES)}")
        incident["status"] = status
        changes.append(f"status {status}")
    if not changes:
        raise IncidentError("nothing to update")
    incident["updated_at"] = moment
    incident["history"].append({"at": moment, "change": "; ".join(changes)})
    _save(db, incident)
    return incident


def list_incidents(db: RecordsDB) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in db.all("SELECT body FROM incidents ORDER BY created_at")]


def get_incident(db: RecordsDB, incident_id: str) -> dict[str, Any]:
    return _load(db, incident_id)


def deadline(incident: dict[str, Any]) -> dt.datetime:
    return _parse_time(incident["aware_at"], "aware_at") + DEADLINE


def time_left(incident: dict[str, Any], now: dt.datetime | None = None) -> dt.timedelta:
    return deadline(incident) - (now or utc_now())


def describe_time_left(incident: dict[str, Any], now: dt.datetime | None = None) -> str:
    left = time_left(incident, now)
    pending = [c for c in incident["controllers"] if c not in incident.get("notices", {})]
    if not pending:
        return "every controller notified"
    seconds = int(left.total_seconds())
    if seconds < 0:
        hours, minutes = divmod(-seconds // 60, 60)
        return f"OVERDUE by {hours} h {minutes:02d} min ({len(pending)} controller(s) not notified)"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes:02d} min left to notify {len(pending)} controller(s)"


# ------------------------------------------------------------------------------------------------
# The notice
# ------------------------------------------------------------------------------------------------
def _scope(store: ObjectStore, db: RecordsDB, incident: dict[str, Any], controller: str,
           facts: dict[str, register.UploadFacts]) -> tuple[list[str], str]:
    """The affected uploads of this controller: the ones the incident names, else every upload
    still held for it (deleted uploads cannot be part of a new breach)."""
    ledger = {r["upload_id"]: r for r in db.all("SELECT upload_id, deleted_at FROM uploads WHERE controller = ?", [controller])}
    mine = set(ledger) | {f.upload_id for f in facts.values() if f.controller == controller}
    if incident["uploads"]:
        return sorted(u for u in incident["uploads"] if u in mine), "the uploads named in the incident"
    held = {u for u in mine if not (ledger.get(u) or {}).get("deleted_at")}
    return sorted(held), "every upload held for the controller"


def notice(store: ObjectStore, db: RecordsDB, incident: dict[str, Any], controller: str,
           facts: dict[str, register.UploadFacts] | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    if controller not in incident["controllers"]:
        raise IncidentError(f"controller {controller} is not affected by incident {incident['id']}")
    if facts is None:
        facts, _ = register.gather(store, db)
    retention.discover_uploads(store, db)
    uploads, scope = _scope(store, db, incident, controller, facts)
    rows = persons = 0
    exact = True
    categories: set[str] = set()
    for upload_id in uploads:
        f = facts.get(upload_id)
        if f is None or f.rows is None:
            f = register.UploadFacts(upload_id, controller)
            register._facts_from_store(store, controller, f)
        rows += int(f.rows or 0)
        if f.persons is not None:
            persons += int(f.persons) + int(f.quarantined or 0)
        else:
            persons += int(f.rows or 0)  # no linkage count: at most one person per row
            exact = False
        for columns in f.columns.values():
            for column in columns:
                if not column.startswith("src_"):
                    categories.update(catalog.categories_of(column))
        for fld in f.recognised_fields:
            categories.update(catalog.categories_of(fld))
    categories.discard("system.operations")
    processor = register.processor_profile()
    profile = register.controller_profile(db, controller)
    consequences = incident.get("consequences") or "; ".join(
        sorted({text for c, text in DEFAULT_CONSEQUENCES.items() if c in categories})
    ) or "to be assessed"
    moment = now or utc_now()
    due = deadline(incident)
    return {
        "incident_id": incident["id"],
        "controller": {"id": controller, "name": profile.get("name") or controller},
        "nature": incident["nature"],
        "aware_at": incident["aware_at"],
        "notified_at": iso(moment),
        "deadline": iso(due),
        "late": moment > due,
        "scope": scope,
        "uploads": uploads,
        "records_concerned_approx": rows,
        "data_subjects_concerned_approx": persons,
        "data_subjects_count_basis": "distinct persons per upload from linkage (a person in several uploads counts once per upload)"
        if exact else "at most one person per row (no linkage count available)",
        "data_categories": [{"fideslang": c, "label": catalog.CATEGORY_LABELS.get(c, c)} for c in sorted(categories)],
        "data_subject_categories": [catalog.SUBJECT_LABELS[s] for s in catalog.DATA_SUBJECTS],
        "contact_point": {"name": processor["dpo_name"], "email": processor["dpo_email"], "organisation": processor["name"]},
        "likely_consequences": consequences,
        "measures": incident["measures"],
        "status": incident["status"],
    }


def render_notice(n: dict[str, Any]) -> str:
    lines = [
        f"Personal data breach notice — incident {n['incident_id']}",
        "",
        f"To: {n['controller']['name']} (controller {n['controller']['id']})",
        f"From the processor, under Art. 33(2) GDPR and section III.8 of the processing agreement.",
        "",
        f"Time of awareness: {n['aware_at']}   Notice: {n['notified_at']}   72-hour deadline: {n['deadline']}"
        + ("   (LATE: the reasons for the delay are given below)" if n["late"] else ""),
        f"Status: {n['status']}",
        "",
        "(a) Nature of the breach",
        f"    {n['nature']}",
        f"    Scope: {n['scope']} ({len(n['uploads'])} upload(s): {', '.join(n['uploads']) or 'none'})",
        f"    Approximate number of records concerned: {n['records_concerned_approx']:,}",
        f"    Approximate number of data subjects concerned: {n['data_subjects_concerned_approx']:,} ({n['data_subjects_count_basis']})",
        "    Categories of data subjects: " + ", ".join(n["data_subject_categories"]),
        "    Categories of personal data: " + (", ".join(f"{c['label']} ({c['fideslang']})" for c in n["data_categories"]) or "none identified"),
        "",
        "(b) Contact point for more information",
        f"    {n['contact_point']['name']} <{n['contact_point']['email']}>, {n['contact_point']['organisation']}",
        "",
        "(c) Likely consequences",
        f"    {n['likely_consequences']}",
        "",
        "(d) Measures taken or proposed",
    ]
    lines += [f"    {m['at']}: {m['text']}" for m in n["measures"]] or ["    none recorded yet"]
    lines += ["", "Information not yet available will follow in further notices (Art. 33(4)).", ""]
    return "\n".join(lines)


def notify(store: ObjectStore, db: RecordsDB, mailer: Any, incident_id: str, *, controllers: Sequence[str] | None = None,
           facts: dict[str, register.UploadFacts] | None = None, now: dt.datetime | None = None,
           resend: bool = False) -> list[dict[str, Any]]:
    """Build and e-mail each affected controller's notice; records when it was sent (not its text)."""
    incident = _load(db, incident_id)
    targets = list(controllers or incident["controllers"])
    if facts is None:
        facts, _ = register.gather(store, db)
    sent = []
    for controller in targets:
        if controller in incident.get("notices", {}) and not resend:
            continue
        n = notice(store, db, incident, controller, facts=facts, now=now)
        profile = register.controller_profile(db, controller)
        to = [a for a in (profile.get("contact_email"), profile.get("dpo_email")) if a]
        if not to:
            raise IncidentError(f"controller {controller} has no contact address: refinery controller set --controller {controller} --contact-email ...")
        message_id = mailer.send(to, f"[Data breach notice] incident {incident['id']} — controller {controller}", render_notice(n))
        moment = iso(now or utc_now())
        incident.setdefault("notices", {})[controller] = {
            "sent_at": moment, "message_id": message_id, "records": n["records_concerned_approx"],
            "data_subjects": n["data_subjects_concerned_approx"], "late": n["late"],
        }
        incident["history"].append({"at": moment, "change": f"notice sent to controller {controller}"})
        incident["updated_at"] = moment
        _save(db, incident)
        sent.append(n)
    return sent
