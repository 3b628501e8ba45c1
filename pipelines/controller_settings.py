"""Per-controller processing settings: what a run does, recorded as the controller's instruction.

Every setting is an instruction under the processing agreement (DPA III.2), so a run's effective
settings are resolved once, validated, hashed and written into the upload manifest. Defaults are
the least intrusive (DPA III.5): only correction and normalisation of what the client sent. Each
enrichment that produces new personal data is off until a settings layer turns it on.

Layers, later ones win: defaults < the controller's stored settings
(`controllers/<controller>/settings.yaml` or `.json` in the object store) < a one-off settings
file (`refinery run --settings FILE`) < command-line flags (`--language`, `--country`, `--enable`,
`--provenance`). The schema is documented in docs/settings.md; every error is one line naming
the source, the key and the problem.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from pipelines import mailbox_settings
from pipelines.mailbox_settings import MailboxSource

SCHEMA_VERSION = 1

# Name -> what it adds. Every one of them is off by default: each infers data the client did
# not send (a civility, an address, a classification, company facts) or calls the network.
ENRICHMENTS: dict[str, str] = {
    "civility": "Monsieur/Madame (Mr/Mrs) guessed from the first name when the client sent none",
    "email_finding": "a professional address proposed from the pattern the company's domain uses",
    "verification": "MX lookup and SMTP RCPT TO probe of professional addresses (network)",
    "company_reference": "NAF code, headcount band and address joined from an operator reference file",
    "job_classification": "job_level and job_function classified from the job title",
}
LANGUAGES = ("fr", "en")
REFERENCE_JOINS = ("siret", "siren", "vat_number", "domain", "name")
REFERENCE_FORMATS = ("auto", "parquet", "csv")
# Output columns a reference file can fill, with the SIRENE column names recognised by default.
REFERENCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "siren": ("siren",),
    "siret": ("siret",),
    "vat_number": ("vat_number", "numero_tva", "tva_intracommunautaire"),
    "domain": ("domain", "domaine", "website", "site_web"),
    "name": ("name", "denominationUniteLegale", "denomination", "raison_sociale", "nom"),
    "naf_code": ("naf_code", "activitePrincipaleUniteLegale", "activitePrincipaleEtablissement", "code_naf", "ape"),
    "headcount_band": ("headcount_band", "trancheEffectifsUniteLegale", "trancheEffectifsEtablissement", "tranche_effectifs"),
    "company_address": ("company_address", "adresse", "address"),
    "company_street_number": ("numeroVoieEtablissement",),
    "company_street_type": ("typeVoieEtablissement",),
    "company_street": ("libelleVoieEtablissement",),
    "company_postcode": ("company_postcode", "codePostalEtablissement", "code_postal", "postcode"),
    "company_city": ("company_city", "libelleCommuneEtablissement", "commune", "ville", "city"),
}
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class SettingsError(ValueError):
    """A settings layer is invalid. The message is one line: `<source>: key '<key>': <problem>`."""

    def __init__(self, source: str, key: str | None, problem: str):
        self.source, self.key, self.problem = source, key, problem
        where = f"key '{key}': " if key else ""
        super().__init__(f"{source}: {where}{problem}")


@dataclass(frozen=True)
class EmailFindingSettings:
    # Contacts with a known address needed on a domain before its pattern is trusted.
    min_known_contacts: int = 2
    # Proposals below this confidence are not made.
    min_confidence: float = 0.8
    # Learn from the controller's earlier uploads too (pattern store, domains and counts only).
    use_history: bool = True


@dataclass(frozen=True)
class VerificationSettings:
    timeout_s: float = 10.0
    helo_name: str = "refinery.localhost"
    # Envelope sender of the probes; empty means the null sender "<>", which sends nothing back.
    mail_from: str = ""
    max_domains: int = 500
    port: int = 25


@dataclass(frozen=True)
class ReferenceSettings:
    path: str | None = None
    format: str = "auto"
    join_on: tuple[str, ...] = ("siret", "siren", "vat_number", "domain", "name")
    # Output column -> column name in the reference file, when it differs from the defaults.
    columns: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ControllerSettings:
    version: int = SCHEMA_VERSION
    language: str = "fr"
    default_country: str = "FR"
    enrichments: frozenset[str] = frozenset()
    email_finding: EmailFindingSettings = EmailFindingSettings()
    verification: VerificationSettings = VerificationSettings()
    reference: ReferenceSettings = ReferenceSettings()
    provenance_in_csv: bool = False
    # Staff mailboxes the controller allows to be read (issue #9); none by default.
    mailboxes: tuple[MailboxSource, ...] = ()
    # Headers of the columns that identify one person in the controller's own system (a CRM id,
    # a customer or member number): the first one present is the `client_id` (issue #14).
    identifier_columns: tuple[str, ...] = ()

    def mailbox(self, mailbox_id: str) -> MailboxSource | None:
        return next((m for m in self.mailboxes if m.id == mailbox_id), None)

    def enabled(self, name: str) -> bool:
        if name not in ENRICHMENTS:
            raise KeyError(f"unknown enrichment {name!r}")
        return name in self.enrichments

    @property
    def enabled_names(self) -> list[str]:
        """Enabled enrichments in catalogue order (what asset metadata may publish)."""
        return [n for n in ENRICHMENTS if n in self.enrichments]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form; the canonical record stored in the upload manifest."""
        return {
            "version": self.version,
            "language": self.language,
            "default_country": self.default_country,
            "enrichments": self.enabled_names,
            "email_finding": dataclasses.asdict(self.email_finding),
            "verification": dataclasses.asdict(self.verification),
            "reference": {
                "path": self.reference.path,
                "format": self.reference.format,
                "join_on": list(self.reference.join_on),
                "columns": dict(sorted(self.reference.columns.items())),
            },
            "provenance_in_csv": self.provenance_in_csv,
        } | (
            # Only when set: settings recorded before mailboxes existed keep their hash (and their
            # recorded instruction stays valid).
            {"mailboxes": [m.to_dict() for m in self.mailboxes]} if self.mailboxes else {}
        ) | ({"identifier_columns": list(self.identifier_columns)} if self.identifier_columns else {})

    def content_hash(self) -> str:
        """sha256 of the canonical JSON: equal settings give equal hashes, whatever their layers."""
        return settings_hash(self.to_dict())


def settings_hash(settings: Mapping[str, Any]) -> str:
    canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------------------------
# Parsing one layer
# ------------------------------------------------------------------------------------------------
_TOP_KEYS = ("version", "language", "default_country", "enrichments", "email_finding", "verification",
             "reference", "provenance_in_csv", "mailboxes", "identifier_columns")


def _expect(source: str, key: str, value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int in Python: refuse `true` where a number is expected.
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        raise SettingsError(source, key, f"expected {what}, got {value!r}")
    return value


def _unknown_keys(source: str, prefix: str, data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    allowed = list(allowed)
    for key in data:
        if key not in allowed:
            raise SettingsError(source, f"{prefix}{key}", f"unknown key (expected one of: {', '.join(allowed)})")


def _section(source: str, name: str, data: Any, cls: type) -> dict[str, Any]:
    """Validated keyword arguments for one nested dataclass section (partial: only keys given)."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise SettingsError(source, name, f"expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _unknown_keys(source, f"{name}.", data, fields)
    out: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{name}.{key}"
        default = fields[key].default
        if isinstance(default, bool):
            out[key] = _expect(source, full, value, bool, "true or false")
        elif isinstance(default, int):
            out[key] = _expect(source, full, value, int, "a whole number")
            if value < (1 if key in ("port", "max_domains", "min_known_contacts") else 0):
                raise SettingsError(source, full, f"must be positive, got {value}")
            if key == "port" and value > 65535:
                raise SettingsError(source, full, f"not a TCP port: {value}")
        elif isinstance(default, float):
            out[key] = float(_expect(source, full, value, (int, float), "a number"))
            if key == "min_confidence" and not 0 <= value <= 1:
                raise SettingsError(source, full, f"must be between 0 and 1, got {value}")
            if key == "timeout_s" and value <= 0:
                raise SettingsError(source, full, f"must be positive, got {value}")
        else:
            out[key] = value
    return out


def _enrichment_names(source: str, value: Any, base: frozenset[str]) -> frozenset[str]:
    """A list of names to enable, or a mapping name -> true/false applied over `base`."""
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value) if v]
    if isinstance(value, Mapping):
        names = set(base)
        for name, on in value.items():
            _check_enrichment(source, f"enrichments.{name}", name)
            if not isinstance(on, bool):
                raise SettingsError(source, f"enrichments.{name}", f"expected true or false, got {on!r}")
            (names.add if on else names.discard)(name)
        return frozenset(names)
    if isinstance(value, list):
        for name in value:
            _check_enrichment(source, "enrichments", name)
        return frozenset(value)
    raise SettingsError(source, "enrichments", f"expected a list of names or a mapping, got {value!r}")


def _check_enrichment(source: str, key: str, name: Any) -> None:
    if name not in ENRICHMENTS:
        raise SettingsError(source, key, f"unknown enrichment {name!r} (expected one of: {', '.join(ENRICHMENTS)})")


def apply_layer(base: ControllerSettings, data: Mapping[str, Any], source: str) -> ControllerSettings:
    """`base` with one settings layer applied; raises SettingsError naming `source` on any problem."""
    if not isinstance(data, Mapping):
        raise SettingsError(source, None, f"expected a mapping of settings at the top level, got {type(data).__name__}")
    _unknown_keys(source, "", data, _TOP_KEYS)
    changes: dict[str, Any] = {}
    if "version" in data:
        if data["version"] != SCHEMA_VERSION:
            raise SettingsError(source, "version", f"unsupported version {data['version']!r} (this refinery reads {SCHEMA_VERSION})")
    if "language" in data:
        language = data["language"]
        if language not in LANGUAGES:
            raise SettingsError(source, "language", f"expected one of {', '.join(LANGUAGES)}, got {language!r}")
        changes["language"] = language
    if "default_country" in data:
        country = data["default_country"]
        if not isinstance(country, str) or not _COUNTRY.match(country.strip().upper()):
            raise SettingsError(source, "default_country", f"expected an ISO 3166 alpha-2 code such as FR, got {country!r}")
        changes["default_country"] = country.strip().upper()
    if "enrichments" in data:
        changes["enrichments"] = _enrichment_names(source, data["enrichments"], base.enrichments)
    if "provenance_in_csv" in data:
        changes["provenance_in_csv"] = _expect(source, "provenance_in_csv", data["provenance_in_csv"], bool, "true or false")
    if "email_finding" in data:
        kwargs = _section(source, "email_finding", data["email_finding"], EmailFindingSettings)
        changes["email_finding"] = dataclasses.replace(base.email_finding, **kwargs)
    if "verification" in data:
        kwargs = _section(source, "verification", data["verification"], VerificationSettings)
        for key in ("helo_name", "mail_from"):
            if key in kwargs:
                _expect(source, f"verification.{key}", kwargs[key], str, "a string")
        if "mail_from" in kwargs and kwargs["mail_from"] and "@" not in kwargs["mail_from"]:
            raise SettingsError(source, "verification.mail_from", "expected an e-mail address or an empty string")
        changes["verification"] = dataclasses.replace(base.verification, **kwargs)
    if "reference" in data:
        changes["reference"] = _reference(source, data["reference"], base.reference)
    if "identifier_columns" in data:
        columns = data["identifier_columns"]
        if isinstance(columns, str):
            columns = [columns]
        if not isinstance(columns, list) or not all(isinstance(c, str) and c.strip() for c in columns):
            raise SettingsError(source, "identifier_columns", f"expected a list of column headers, got {columns!r}")
        changes["identifier_columns"] = tuple(c.strip() for c in columns)
    if "mailboxes" in data:
        # A layer's list replaces the earlier one: which mailboxes may be read is one decision.
        changes["mailboxes"] = mailbox_settings.parse(source, data["mailboxes"], SettingsError)
    return dataclasses.replace(base, **changes)


def _reference(source: str, data: Any, base: ReferenceSettings) -> ReferenceSettings:
    if data is None:
        return base
    if not isinstance(data, Mapping):
        raise SettingsError(source, "reference", f"expected a mapping, got {type(data).__name__}")
    _unknown_keys(source, "reference.", data, ("path", "format", "join_on", "columns"))
    changes: dict[str, Any] = {}
    if "path" in data:
        path = data["path"]
        if path is not None and (not isinstance(path, str) or not path.strip()):
            raise SettingsError(source, "reference.path", f"expected a file path, got {path!r}")
        changes["path"] = path
    if "format" in data:
        if data["format"] not in REFERENCE_FORMATS:
            raise SettingsError(source, "reference.format", f"expected one of {', '.join(REFERENCE_FORMATS)}, got {data['format']!r}")
        changes["format"] = data["format"]
    if "join_on" in data:
        join_on = data["join_on"]
        if not isinstance(join_on, list) or not join_on:
            raise SettingsError(source, "reference.join_on", f"expected a non-empty list, got {join_on!r}")
        for key in join_on:
            if key not in REFERENCE_JOINS:
                raise SettingsError(source, "reference.join_on", f"unknown join key {key!r} (expected some of: {', '.join(REFERENCE_JOINS)})")
        changes["join_on"] = tuple(join_on)
    if "columns" in data:
        columns = data["columns"]
        if not isinstance(columns, Mapping):
            raise SettingsError(source, "reference.columns", f"expected a mapping, got {columns!r}")
        for out, name in columns.items():
            if out not in REFERENCE_COLUMNS:
                raise SettingsError(source, f"reference.columns.{out}", f"unknown column (expected one of: {', '.join(REFERENCE_COLUMNS)})")
            if not isinstance(name, str) or not name:
                raise SettingsError(source, f"reference.columns.{out}", f"expected a column name, got {name!r}")
        changes["columns"] = dict(columns)
    return dataclasses.replace(base, **changes)


def parse_text(text: str, source: str) -> dict[str, Any]:
    """YAML or JSON text (JSON is YAML) as a mapping; an empty document is an empty layer."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid syntax"
        raise SettingsError(source, None, f"not valid YAML or JSON{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(source, None, f"expected a mapping of settings at the top level, got {type(data).__name__}")
    return data


def load_file(path: str | Path, base: ControllerSettings | None = None) -> ControllerSettings:
    """Apply one settings file (YAML or JSON) over `base` (defaults when None)."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise SettingsError(source, None, "settings file not found") from None
    except UnicodeDecodeError:
        raise SettingsError(source, None, "not a UTF-8 text file") from None
    except OSError as exc:
        raise SettingsError(source, None, f"cannot be read ({exc.strerror})") from None
    settings = apply_layer(base or ControllerSettings(), parse_text(text, source), source)
    ref = settings.reference.path
    if ref and not Path(ref).is_absolute():
        # A reference file named in a settings file is found next to it, wherever the run starts.
        settings = dataclasses.replace(
            settings, reference=dataclasses.replace(settings.reference, path=str((path.parent / ref).resolve()))
        )
    return settings


def from_dict(data: Mapping[str, Any], source: str = "settings") -> ControllerSettings:
    """Settings from their recorded form (`to_dict()`), validated like any other layer."""
    return apply_layer(ControllerSettings(), data, source)


def check_reference(settings: ControllerSettings, source: str = "settings") -> None:
    """company_reference needs a readable reference file; said before the run starts."""
    if not settings.enabled("company_reference"):
        return
    path = settings.reference.path
    if not path:
        raise SettingsError(source, "reference.path", "company_reference is enabled but no reference file is given")
    if not Path(path).is_file():
        raise SettingsError(source, "reference.path", "reference file not found")


# ------------------------------------------------------------------------------------------------
# Resolving a run's settings and recording them in the upload manifest
# ------------------------------------------------------------------------------------------------
OPTIONS_KEY = "settings"
HASH_KEY = "settings_hash"
SOURCES_KEY = "settings_sources"
STORED_SETTINGS_NAMES = ("settings.yaml", "settings.yml", "settings.json")


class ReadableStore(Protocol):
    """The two object-store calls needed here (resources.object_store.ObjectStore has them)."""

    def exists(self, key: str) -> bool: ...

    def get_bytes(self, key: str) -> bytes: ...


def stored_settings_key(store: ReadableStore, controller: str) -> str | None:
    """Key of the controller's stored settings (`controllers/<controller>/settings.yaml`...), if any."""
    for name in STORED_SETTINGS_NAMES:
        key = f"controllers/{controller}/{name}"
        if store.exists(key):
            return key
    return None


def resolve(
    store: ReadableStore | None,
    controller: str,
    *,
    settings_file: str | Path | None = None,
    enable: Iterable[str] = (),
    language: str | None = None,
    default_country: str | None = None,
    provenance_in_csv: bool | None = None,
    flags_source: str = "command line",
) -> tuple[ControllerSettings, list[str]]:
    """The effective settings of a run and the layers they came from (for the instruction log)."""
    settings, sources = ControllerSettings(), ["defaults"]
    key = stored_settings_key(store, controller) if store is not None else None
    if key is not None:
        try:
            text = store.get_bytes(key).decode("utf-8")
        except UnicodeDecodeError:
            raise SettingsError(key, None, "not a UTF-8 text file") from None
        settings = apply_layer(settings, parse_text(text, key), key)
        sources.append(key)
    if settings_file is not None:
        settings = load_file(settings_file, settings)
        sources.append(f"--settings {Path(settings_file).name}")
    flags: dict[str, Any] = {}
    if language is not None:
        flags["language"] = language
    if default_country is not None:
        flags["default_country"] = default_country
    if provenance_in_csv:
        flags["provenance_in_csv"] = True
    if flags:
        option = {"language": "--language", "default_country": "--country", "provenance_in_csv": "--provenance"}
        named = [option[k] if flags_source == "command line" else k for k in flags]
        source = f"{flags_source} (" + ", ".join(named) + ")"
        settings = apply_layer(settings, flags, source)
        sources.append(source)
    names = [n.strip() for n in enable if n and n.strip()]
    if names:
        source = "--enable " + ",".join(names)
        for name in names:
            if name not in ENRICHMENTS:
                raise SettingsError("--enable", None, f"unknown enrichment {name!r} (expected some of: {', '.join(ENRICHMENTS)})")
        settings = apply_layer(settings, {"enrichments": {n: True for n in names}}, source)
        sources.append(source)
    check_reference(settings, sources[-1])
    return settings, sources


def record(options: Mapping[str, Any], settings: ControllerSettings, sources: list[str]) -> dict[str, Any]:
    """Upload options with the effective settings, their hash and layers (the instruction record).

    `language` and `default_country` stay at the top level too, for readers of older manifests.
    """
    return {
        **options,
        "language": settings.language,
        "default_country": settings.default_country,
        OPTIONS_KEY: settings.to_dict(),
        HASH_KEY: settings.content_hash(),
        SOURCES_KEY: list(sources),
    }


def from_options(options: Mapping[str, Any]) -> ControllerSettings | None:
    """The settings recorded in an upload's options, checked against their hash; None if absent."""
    if OPTIONS_KEY not in options:
        return None
    settings = from_dict(options[OPTIONS_KEY], "upload manifest settings")
    recorded = options.get(HASH_KEY)
    if recorded != settings.content_hash():
        raise SettingsError(
            "upload manifest", HASH_KEY, "does not match the recorded settings (the instruction record was altered)"
        )
    return settings


def for_upload(
    store: ReadableStore | None, controller: str, options: Mapping[str, Any]
) -> tuple[ControllerSettings, dict[str, Any] | None]:
    """(settings, options to record or None). Uploads that did not come through `refinery run`
    (no recorded settings) get the controller's stored settings and the legacy options."""
    recorded = from_options(options)
    if recorded is not None:
        return recorded, None
    settings, sources = resolve(
        store, controller, language=options.get("language"), default_country=options.get("default_country"),
        flags_source="upload options",
    )
    return settings, record(options, settings, sources)
