"""Per-controller settings: defaults, layers, one-line errors, the recorded instruction."""

from __future__ import annotations

import json

import pytest

from pipelines import controller_settings as cs


class MemoryStore:
    def __init__(self, objects: dict[str, bytes] | None = None):
        self.objects = dict(objects or {})

    def exists(self, key: str) -> bool:
        return key in self.objects

    def get_bytes(self, key: str) -> bytes:
        return self.objects[key]

    def put_bytes(self, key: str, data: bytes) -> None:
        self.objects[key] = data


def test_defaults_are_the_least_intrusive():
    settings = cs.ControllerSettings()
    assert settings.enabled_names == []
    assert all(not settings.enabled(name) for name in cs.ENRICHMENTS)
    assert (settings.language, settings.default_country, settings.provenance_in_csv) == ("fr", "FR", False)
    assert set(cs.ENRICHMENTS) >= {"civility", "email_finding", "verification", "company_reference"}


def test_yaml_file_layer(tmp_path):
    path = tmp_path / "acme.yaml"
    path.write_text(
        "language: en\ndefault_country: be\nenrichments: [civility, job_classification]\n"
        "email_finding:\n  min_known_contacts: 3\n",
        "utf-8",
    )
    settings = cs.load_file(path)
    assert settings.language == "en" and settings.default_country == "BE"
    assert settings.enabled_names == ["civility", "job_classification"]
    assert settings.email_finding.min_known_contacts == 3
    assert settings.email_finding.min_confidence == 0.8  # untouched keys keep their default


def test_json_file_and_mapping_form(tmp_path):
    path = tmp_path / "acme.json"
    path.write_text(json.dumps({"enrichments": {"email_finding": True, "civility": False}}), "utf-8")
    base = cs.apply_layer(cs.ControllerSettings(), {"enrichments": ["civility"]}, "stored")
    settings = cs.load_file(path, base)
    assert settings.enabled_names == ["email_finding"]  # the mapping switches names over the base


def test_relative_reference_path_is_next_to_the_settings_file(tmp_path):
    (tmp_path / "sirene.parquet").write_bytes(b"x")
    path = tmp_path / "s.yaml"
    path.write_text("enrichments: [company_reference]\nreference: {path: sirene.parquet}\n", "utf-8")
    settings = cs.load_file(path)
    assert settings.reference.path == str((tmp_path / "sirene.parquet").resolve())
    cs.check_reference(settings)  # exists: no error


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("langage: fr\n", "langage", "unknown key"),
        ("language: de\n", "language", "expected one of fr, en"),
        ("default_country: France\n", "default_country", "ISO 3166 alpha-2"),
        ("enrichments: [civility, gender]\n", "enrichments", "unknown enrichment 'gender'"),
        ("enrichments: {civility: yes please}\n", "enrichments.civility", "expected true or false"),
        ("email_finding: {min_confidence: 1.5}\n", "email_finding.min_confidence", "between 0 and 1"),
        ("email_finding: {min_known_contacts: two}\n", "email_finding.min_known_contacts", "whole number"),
        ("email_finding: {min_known_contacts: true}\n", "email_finding.min_known_contacts", "whole number"),
        ("verification: {port: 70000}\n", "verification.port", "not a TCP port"),
        ("verification: {mail_from: postmaster}\n", "verification.mail_from", "e-mail address"),
        ("reference: {join_on: [siret, zip]}\n", "reference.join_on", "unknown join key 'zip'"),
        ("reference: {columns: {naf: ape}}\n", "reference.columns.naf", "unknown column"),
        ("version: 2\n", "version", "unsupported version"),
        ("provenance_in_csv: 1\n", "provenance_in_csv", "true or false"),
    ],
)
def test_errors_are_one_line_naming_file_key_and_problem(tmp_path, text, key, problem):
    path = tmp_path / "settings.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(cs.SettingsError) as err:
        cs.load_file(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: key '{key}': ")
    assert problem in message


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("language: [fr\n", "not valid YAML or JSON at line"),
        ("- civility\n- email_finding\n", "expected a mapping of settings"),
        (b"\xff\xfe\x00l", "not a UTF-8 text file"),
    ],
)
def test_unreadable_files(tmp_path, content, problem):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(cs.SettingsError, match=problem) as err:
        cs.load_file(path)
    assert str(err.value).startswith(f"{path}: ")


def test_missing_file_and_missing_reference(tmp_path):
    with pytest.raises(cs.SettingsError, match="settings file not found"):
        cs.load_file(tmp_path / "nope.yaml")
    settings = cs.apply_layer(cs.ControllerSettings(), {"enrichments": ["company_reference"]}, "x")
    with pytest.raises(cs.SettingsError, match="key 'reference.path': company_reference is enabled but no reference"):
        cs.check_reference(settings, "x")


def test_resolve_layers_and_sources(tmp_path):
    store = MemoryStore({"controllers/acme/settings.yaml": b"language: en\nenrichments: [civility]\n"})
    one_off = tmp_path / "one-off.yaml"
    one_off.write_text("default_country: DE\n", "utf-8")
    settings, sources = cs.resolve(store, "acme", settings_file=one_off, enable=["email_finding"], default_country="es")
    assert settings.language == "en"  # stored layer
    assert settings.default_country == "ES"  # the flag beats the one-off file
    assert settings.enabled_names == ["civility", "email_finding"]  # --enable adds to stored ones
    assert sources == [
        "defaults", "controllers/acme/settings.yaml", "--settings one-off.yaml", "command line (--country)",
        "--enable email_finding",
    ]
    other, _ = cs.resolve(store, "other", enable=[])
    assert other == cs.ControllerSettings()  # no cross-controller reads


def test_enable_unknown_name_is_refused():
    with pytest.raises(cs.SettingsError) as err:
        cs.resolve(None, "acme", enable=["civility", "telepathy"])
    assert str(err.value) == (
        "--enable: unknown enrichment 'telepathy' (expected some of: civility, email_finding, verification, "
        "company_reference, job_classification)"
    )


def test_recorded_settings_round_trip_and_hash():
    settings, sources = cs.resolve(None, "acme", enable=["civility"], language="en")
    options = cs.record({"origin": "cli"}, settings, sources)
    assert options["settings_hash"] == settings.content_hash() == cs.settings_hash(options["settings"])
    assert options["settings_hash"].startswith("sha256:") and len(options["settings_hash"]) == 71
    assert options["language"] == "en" and options["origin"] == "cli"
    assert cs.from_options(json.loads(json.dumps(options))) == settings  # survives the JSON manifest
    # Equal settings, whatever their layers, give equal hashes; any change changes it.
    again, _ = cs.resolve(None, "acme", enable=["civility"], language="en")
    assert again.content_hash() == settings.content_hash()
    assert cs.ControllerSettings().content_hash() != settings.content_hash()


def test_altered_instruction_record_is_refused():
    settings, sources = cs.resolve(None, "acme", enable=["civility"])
    options = cs.record({}, settings, sources)
    options["settings"]["enrichments"].append("email_finding")
    with pytest.raises(cs.SettingsError, match="settings_hash': does not match"):
        cs.from_options(options)


def test_for_upload_records_settings_for_uploads_without_them():
    store = MemoryStore({"controllers/acme/settings.json": b'{"enrichments": ["job_classification"]}'})
    settings, options = cs.for_upload(store, "acme", {"language": "en", "default_country": "GB"})
    assert settings.enabled_names == ["job_classification"] and settings.language == "en"
    assert options["settings_hash"] == settings.content_hash()
    recorded, again = cs.for_upload(store, "acme", options)
    assert recorded == settings and again is None  # recorded once, then read back


def test_identifier_columns():
    settings = cs.from_dict({"identifier_columns": [" Member no ", "Kundennr"]})
    assert settings.identifier_columns == ("Member no", "Kundennr")
    assert cs.from_dict(settings.to_dict()) == settings
    # Settings recorded before the key existed keep their hash (their instruction stays valid).
    assert "identifier_columns" not in cs.ControllerSettings().to_dict()
    with pytest.raises(cs.SettingsError, match="identifier_columns"):
        cs.from_dict({"identifier_columns": [1]})
