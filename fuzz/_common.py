"""Shared bits of the atheris harnesses: small operator limits (so a harness explores parsing, not
memory), and seed inputs generated at start-up instead of committed binaries."""

from __future__ import annotations

import io
from pathlib import Path

from pipelines.limits import Limits

# As tests/test_hostile_input.py: small enough that every input is cheap, big enough to parse.
FUZZ_LIMITS = Limits(max_file_bytes=2**20, max_rows=1000, max_columns=200, max_cell_chars=1000, max_xlsx_expansion=50)


def _xlsx(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def reader_seeds() -> dict[str, bytes]:
    rows = [["Prénom", "Nom", "Société", "E-mail", "Téléphone"], ["Élodie", "DE LA FONTAINE", "ACME SAS", "elodie@acme.fr", "06 12 34 56 78"]]
    text = "\r\n".join(";".join(r) for r in rows) + "\r\n"
    return {
        "utf8-semicolon.csv": text.encode("utf-8"),
        "utf8-bom.csv": b"\xef\xbb\xbf" + text.replace(";", ",").encode("utf-8"),
        "cp1252.csv": text.encode("cp1252"),
        "utf16.csv": text.replace(";", "\t").encode("utf-16"),
        "quoted.csv": b'Email,Notes\n"a@b.fr","line one\nline two"\n"c@d.fr",""""\n',
        "mixed.csv": "E-mail;Nom\na@b.fr;Müller\n".encode("utf-8") + "c@d.fr;Zoë\n".encode("cp1252"),
        "contacts.xlsx": _xlsx(rows),
    }


def write_seeds(corpus: Path, seeds: dict[str, bytes]) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        path = corpus / f"seed-{name}"
        if not path.exists():
            path.write_bytes(data)


def header_seeds() -> dict[str, bytes]:
    """Every synonym list of pipelines/data/headers.yaml as one ';'-separated header row, plus
    rows a CRM export really has."""
    import yaml
    from importlib import resources

    raw = yaml.safe_load(resources.files("pipelines").joinpath("data/headers.yaml").read_text("utf-8"))
    seeds = {f"{group}-{name}": ";".join(words).encode() for group in ("exact", "contains")
             for name, words in (raw.get(group) or {}).items()}
    seeds["contextual"] = ";".join(w for words in raw["contextual"].values() for w in words).encode()
    seeds["crm-fr"] = "Civilité;Prénom;Nom;Société;E-mail;Tél. portable;Fonction;Pays;Nom".encode()
    seeds["crm-en"] = b"First Name;Last Name;Company;Email;Phone;Mobile;Job Title;LinkedIn;Email"
    return seeds
