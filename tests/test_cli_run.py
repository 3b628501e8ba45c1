"""`refinery run` as a user runs it, checked through the files it exports."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from dagster_project.cli import main
from pipelines.export import CONTRACT_COLUMNS, EXTRA_COLUMNS
from tests.conftest import run_cli
from tests.master_fixtures import committed_records


def _contacts(out) -> pd.DataFrame:
    return pd.read_csv(out / "contacts.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_run_succeeds_and_prints_progress_and_summary(french_run):
    result, out, _ = french_run
    assert result.returncode == 0, result.stderr
    for stage in ("raw_upload", "validated_rows", "standardised_contacts", "enriched_contacts",
                  "linked_contacts", "golden_records", "contact_export"):
        assert stage in result.stderr
    assert "3,000 rows in, 3,000 rows out" in result.stderr
    assert {p.name for p in out.iterdir()} >= {"contacts.csv", "golden.csv", "contacts.parquet", "golden.parquet"}


def test_every_input_row_comes_back_once_in_input_order(french_run, french_export):
    _, out, _ = french_run
    _, messy, _ = french_export
    contacts = _contacts(out)
    assert len(contacts) == len(messy)
    assert contacts["row_number"].tolist() == [str(i) for i in range(1, len(messy) + 1)]
    # Custom columns come back unchanged, under their own header, row for row.
    assert contacts["ID CRM"].tolist() == messy["crm_id"].tolist()
    assert contacts["Notes internes"].tolist() == messy["notes"].fillna("").tolist()


def test_export_contract_columns_in_order(french_run):
    _, out, _ = french_run
    columns = list(_contacts(out).columns)
    assert columns[: len(CONTRACT_COLUMNS)] == list(CONTRACT_COLUMNS)
    assert columns[-len(EXTRA_COLUMNS):] == list(EXTRA_COLUMNS)
    assert columns[len(CONTRACT_COLUMNS)] == "ID CRM"  # unrecognised input columns follow the contract


def test_csv_opens_in_excel(french_run):
    _, out, _ = french_run
    raw = (out / "contacts.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel detects the encoding
    assert "é".encode("utf-8") in raw


def test_quarantined_rows_are_kept_with_reason(french_run, french_export):
    _, out, _ = french_run
    _, _, truth = french_export
    contacts = _contacts(out)
    quarantined = contacts[contacts["status"] == "quarantined"]
    # Junk rows are quarantined unless they carry the client's own id ("ID CRM"): an identifier
    # alone is an identity (issue 14), and such rows come back processed, their id in client_id.
    junk = truth.loc[truth["row_kind"] != "contact", "row_number"].astype(str)
    by_row = contacts.set_index("row_number")
    with_id = {r for r in junk if by_row.loc[r, "ID CRM"] != ""}
    assert with_id and set(junk) - with_id and set(junk) - with_id <= set(quarantined["row_number"])
    assert (by_row.loc[sorted(with_id), "status"] == "ok").all()
    assert (by_row.loc[sorted(with_id), "client_id"] == by_row.loc[sorted(with_id), "ID CRM"]).all()
    assert (quarantined["status_reason"] != "").all()
    assert (quarantined["cluster_id"] == "").all()
    ok = contacts[contacts["status"] == "ok"]
    assert set(ok["status"]) == {"ok"} and (ok["cluster_id"] != "").all()


def test_standardised_fields(french_run):
    _, out, _ = french_run
    ok = _contacts(out).query("status == 'ok'")
    phones = ok["phone_e164"][ok["phone_e164"] != ""]
    assert phones.str.match(r"^\+[1-9]\d{6,14}$").all()
    emails = ok["email"][ok["email"] != ""]
    assert (emails == emails.str.lower()).all() and emails.str.contains("@").all()
    assert set(ok["country"]) <= {"", "FR", "BE", "CH", "DE", "ES", "IT", "GB", "NL", "LU", "MC"} | set(ok["country"])
    assert ok["country"].str.fullmatch(r"([A-Z]{2})?").all()
    assert ok["email_qualification"][ok["email"] != ""].str.fullmatch(r"(nominative|generic)@(pro|perso|school|disposable)").all()
    assert (ok["civility"].isin(["", "Monsieur", "Madame"])).all()


def test_duplicates_are_merged_into_golden_records(french_run, french_export):
    _, out, _ = french_run
    _, _, truth = french_export
    contacts = _contacts(out).merge(truth[["row_number", "entity_id"]].astype(str), on="row_number")
    ok = contacts[contacts["status"] == "ok"]
    golden = pd.read_csv(out / "golden.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(golden) == ok["cluster_id"].nunique()
    # One master per cluster, and the golden record lists exactly its cluster's rows.
    masters = ok[ok["is_master"] == "true"]
    assert len(masters) == len(golden)
    rows_by_cluster = ok.groupby("cluster_id")["row_number"].apply(lambda s: ";".join(sorted(s, key=int)))
    assert golden.set_index("cluster_id")["source_rows"].to_dict() == rows_by_cluster.to_dict()
    # Real duplicates exist in the file and most of them end up together, few strangers do.
    pair_counts = ok.groupby(["cluster_id", "entity_id"]).size()
    merged_rows = int((pair_counts[pair_counts > 1]).sum())
    assert merged_rows > 200
    impure = ok.groupby("cluster_id")["entity_id"].nunique()
    assert (impure > 1).sum() <= 0.02 * len(golden)


def test_parquet_copies_match_csv(french_run):
    _, out, _ = french_run
    contacts = pq.read_table(out / "contacts.parquet")
    golden = pq.read_table(out / "golden.parquet")
    assert contacts.num_rows == len(_contacts(out))
    assert golden.num_rows == len(pd.read_csv(out / "golden.csv", dtype=str, encoding="utf-8-sig"))
    assert contacts.column_names[: len(CONTRACT_COLUMNS)] == list(CONTRACT_COLUMNS)


def test_exports_also_land_in_the_object_store(french_run):
    _, _, store = french_run
    exports = list((store / "exports" / "acme").glob("up-*/contacts.csv"))
    assert len(exports) == 1
    assert (exports[0].parent / "summary.json").exists()


def test_keep_input_format_writes_cp1252_semicolon(tmp_path, french_export):
    path, messy, _ = french_export
    small = tmp_path / "small.csv"
    lines = path.read_bytes().split(b"\r\n")
    small.write_bytes(b"\r\n".join(lines[:40]) + b"\r\n")
    result = run_cli("run", str(small), "--keep-input-format", "--out", str(tmp_path / "o"), store=tmp_path / "s")
    assert result.returncode == 0, result.stderr
    raw = (tmp_path / "o" / "contacts.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("cp1252")
    assert text.splitlines()[0].startswith('"row_number";"status"') or text.splitlines()[0].startswith("row_number;status")


@pytest.mark.parametrize(
    "content,expected",
    [
        (b"", "the file is empty"),
        (b"\x00\x01\x02\x03binary\x00\x00" * 50, "binary"),
        (b"Notes;Owner\nfoo;bar\n", "no contact column recognised"),
        (b"Fonction;Pays\nCEO;FR\n", "no identity column"),
    ],
)
def test_unreadable_input_exits_nonzero_with_one_clear_line(tmp_path, capsys, content, expected):
    path = tmp_path / "bad file.csv"
    path.write_bytes(content)
    code = main(["run", str(path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0
    assert err[-1].startswith(f"refinery: error: {path}: ")
    assert expected in err[-1]
    assert not any("Traceback" in line for line in err)


def test_missing_file_and_bad_controller(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.csv")]) == 2
    assert "file not found" in capsys.readouterr().err
    f = tmp_path / "c.csv"
    f.write_text("Email\na@b.fr\n")
    assert main(["run", str(f), "--controller", "Bad Name!"]) == 2
    assert "controller id" in capsys.readouterr().err


def test_unmerge_splits_a_person_and_the_next_batch_keeps_them_apart(french_export, tmp_path):
    path, _, _ = french_export
    store, out1, out2 = tmp_path / "store", tmp_path / "o1", tmp_path / "o2"
    assert run_cli("run", str(path), "--controller", "acme", "--out", str(out1), store=store).returncode == 0
    golden = pd.read_csv(out1 / "golden.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    person = golden.loc[golden["record_count"].astype(int) >= 2, "cluster_id"].iloc[0]
    rows = golden.set_index("cluster_id").loc[person, "source_rows"].split(";")

    result = run_cli("unmerge", "--controller", "acme", "--person", person, store=store)
    assert result.returncode == 0, result.stderr
    assert f"{person} split into {len(rows)} persons" in result.stderr

    # The same file again: the records the person split stay in separate persons.
    assert run_cli("run", str(path), "--controller", "acme", "--out", str(out2), store=store).returncode == 0
    records = committed_records(store, "acme").to_pandas()
    first_upload = records["record_key"].str.split(":").str[0].min()
    split_records = records[records["record_key"].isin([f"{first_upload}:{r}" for r in rows])]
    assert len(split_records) == len(rows)
    assert split_records["person_id"].nunique() == len(rows)

    bad = run_cli("unmerge", "--controller", "acme", "--person", "P9999999", store=store)
    assert bad.returncode == 1 and "no person P9999999" in bad.stderr


def test_a_large_upload_runs_each_stage_in_its_own_process_with_the_same_export(french_run, french_export, tmp_path):
    # The size from which stages run in processes of their own is lowered to 0 MB here: the
    # mode is for multi-million-row files (dagster_project/stage_processes.py).
    import re

    path, _, _ = french_export
    result = run_cli("run", str(path), "--controller", "acme", "--out", str(tmp_path / "out"),
                     store=tmp_path / "store", env={"REFINERY_PROCESS_PER_STAGE_MB": "0"})
    assert result.returncode == 0, result.stderr
    assert "each stage runs in a process of its own" in result.stderr
    for stage in ("standardised_contacts", "linked_contacts", "contact_export", "controller_master"):
        assert re.search(rf"^  {stage} .* rows .*\[RSS [\d,]+ MiB, peak [\d,]+ MiB\]$", result.stderr, re.M), result.stderr
    assert "DEBUG" not in result.stderr and "Warning" not in result.stderr  # a clean terminal
    _, in_process, _ = french_run

    def text(folder, name):  # record keys name the upload, which differs between the two runs
        return re.sub(r"up-[0-9a-z-]+:", "U:", (folder / name).read_text("utf-8-sig"))

    for name in ("contacts.csv", "golden.csv", "duplicates.csv", "merge_audit.csv", "review.csv"):
        assert text(tmp_path / "out", name) == text(in_process, name), name
