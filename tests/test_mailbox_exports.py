"""Mailbox exports the client uploads: mbox, zip of .eml, single .eml; hostile archives refused with a clear error."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.mailbox_corpus import build_corpus, write_eml_zip, write_mbox
from pipelines.mailbox.exports import ExportLimits, MailboxExportError, iter_folder_messages, iter_messages
from pipelines.mailbox.signals import extract_signals

M1 = b"From: a@example.com\nSubject: one\n\nFrom here on, the body.\n>From quoted once\n>>From quoted twice\n"
M2 = b"From: b@example.com\nSubject: two\n\nsecond\n"


def mboxrd(*messages: bytes) -> bytes:
    out = b""
    for m in messages:
        quoted = b"\n".join(b">" + line if line.lstrip(b">").startswith(b"From ") else line for line in m.split(b"\n"))
        out += b"From MAILER-DAEMON Thu Nov 26 10:00:00 2026\n" + quoted + b"\n"
    return out


def zipped(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def assert_clean_error(exc: pytest.ExceptionInfo, *forbidden: str) -> None:
    text = str(exc.value)
    assert "\n" not in text and text
    for word in forbidden:
        assert word not in text


def test_mboxrd_splits_on_from_lines_and_unquotes_one_level():
    assert list(iter_messages("export.mbox", mboxrd(M1, M2))) == [M1, M2]


def test_mboxo_thunderbird_and_crlf_exports():
    thunderbird = (b"From - Thu Nov 26 10:00:00 2026\r\nFrom: a@example.com\r\nSubject: x\r\n\r\n>From the start\r\n\r\n"
                   b"From - Fri Nov 27 10:00:00 2026\r\nFrom: b@example.com\r\n\r\nbody\r\n")
    got = list(iter_messages("Inbox", thunderbird))  # no extension: recognised by its first line
    assert got == [b"From: a@example.com\r\nSubject: x\r\n\r\nFrom the start\r\n", b"From: b@example.com\r\n\r\nbody\r\n"]


def test_a_body_line_starting_with_from_without_a_date_does_not_split():
    data = b"From sender@example.com Thu Nov 26 10:00:00 2026\nSubject: x\n\nFrom what I hear, fine.\n"
    assert len(list(iter_messages("x.mbox", data))) == 1


def test_corpus_round_trips_through_mbox_and_zip(tmp_path):
    corpus = build_corpus(n_per_kind=1, seed=3)
    write_mbox(corpus, tmp_path / "c.mbox")
    write_eml_zip(corpus, tmp_path / "c.zip")
    from_mbox = list(iter_messages("c.mbox", (tmp_path / "c.mbox").read_bytes()))
    from_zip = list(iter_folder_messages("c.zip", (tmp_path / "c.zip").read_bytes()))
    assert from_mbox == [m.raw for m in corpus]
    assert [raw for _, raw in from_zip] == [m.raw for m in corpus]
    assert [folder for folder, _ in from_zip] == [m.folder for m in corpus]
    for m, raw in zip(corpus, from_mbox):
        assert {(s.address, s.signal) for s in extract_signals(raw, "mb")} == {
            (s.address, s.signal) for s in extract_signals(m.raw, "mb")}


def test_zip_of_eml_in_folders_skips_what_is_not_mail():
    data = zipped({"INBOX/1.eml": M1, "Sent/sub/2.EML": M2, "README.txt": b"not mail", "__MACOSX/INBOX/._1.eml": b"junk",
                   "INBOX/": b""})
    assert list(iter_folder_messages("mails.zip", data)) == [("INBOX", M1), ("Sent/sub", M2)]


def test_single_eml():
    assert list(iter_messages("message.eml", M2)) == [M2]
    assert list(iter_messages("upload.bin", M2)) == [M2]  # recognised by its header lines


def test_unknown_format_is_refused_without_naming_the_file():
    with pytest.raises(MailboxExportError) as exc:
        list(iter_messages("jean.dupont-private.pdf", b"%PDF-1.7 binary"))
    assert_clean_error(exc, "jean", "dupont")
    with pytest.raises(MailboxExportError):
        list(iter_messages("x.mbox", b"Subject: no separator\n\nbody\n" * 0 + b"\x00\x01binary"))


def test_corrupt_or_truncated_zip_is_refused():
    data = zipped({"INBOX/1.eml": M1 * 50})
    with pytest.raises(MailboxExportError) as exc:
        list(iter_messages("mails.zip", data[: len(data) // 2]))
    assert_clean_error(exc, "INBOX", "1.eml")
    flipped = bytearray(data)
    start = data.index(b"INBOX/1.eml") + len(b"INBOX/1.eml") + 5
    flipped[start:start + 20] = b"\xff" * 20  # damage the deflated data
    with pytest.raises(MailboxExportError):
        list(iter_messages("mails.zip", bytes(flipped)))


def test_zip_bomb_is_refused_from_declared_sizes_before_inflating():
    bomb = zipped({f"INBOX/{i}.eml": b"\0" * (8 * 2**20) for i in range(4)})  # 32 MB of zeros in ~32 kB
    assert len(bomb) < 100_000
    with pytest.raises(MailboxExportError) as exc:
        next(iter_messages("mails.zip", bomb))
    assert "zip bomb" in str(exc.value)
    assert_clean_error(exc, "INBOX")


def test_a_member_that_lies_about_its_size_is_refused():
    data = bytearray(zipped({"INBOX/1.eml": M1 * 1000}))
    real = len(M1 * 1000)
    # Declare 100 bytes in both the local header and the central directory: zipfile must not read past them.
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(sig)
        assert struct.unpack_from("<I", data, at + offset)[0] == real
        struct.pack_into("<I", data, at + offset, 100)
    with pytest.raises(MailboxExportError):
        list(iter_messages("mails.zip", bytes(data)))


def test_encrypted_zip_is_refused():
    data = bytearray(zipped({"INBOX/1.eml": M1}, zipfile.ZIP_STORED))
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(sig)
        struct.pack_into("<H", data, at + offset, struct.unpack_from("<H", data, at + offset)[0] | 1)
    with pytest.raises(MailboxExportError) as exc:
        list(iter_messages("mails.zip", bytes(data)))
    assert "encrypted" in str(exc.value)


def test_limits_on_message_count_and_size():
    small = ExportLimits(max_messages=1, max_message_bytes=200)
    with pytest.raises(MailboxExportError) as exc:
        list(iter_messages("x.mbox", mboxrd(M1, M2), small))
    assert "more than 1 messages" in str(exc.value)
    with pytest.raises(MailboxExportError):
        list(iter_messages("x.zip", zipped({"a.eml": M1, "b.eml": M2}), small))
    big = M2 + b"x" * 500
    for name, data in (("x.mbox", mboxrd(big)), ("x.zip", zipped({"a.eml": big})), ("x.eml", big)):
        with pytest.raises(MailboxExportError) as exc:
            list(iter_messages(name, data, small))
        assert "limit per message" in str(exc.value)


def test_zip_compression_ratio_check_applies_to_one_member_too():
    member = b"A" * (3 * 2**20)
    data = zipped({"big.eml": member, "pad.eml": zlib.compress(b"x") * 0 + bytes(range(256)) * 4000})
    with pytest.raises(MailboxExportError) as exc:
        list(iter_messages("x.zip", data, ExportLimits(max_expansion=50)))
    assert "zip bomb" in str(exc.value)


def test_a_takeout_zip_holding_an_mbox_is_streamed_message_by_message():
    data = zipped({"Takeout/Mail/All mail Including Spam and Trash.mbox": mboxrd(M1, M2), "Takeout/archive_browser.html": b"<html>"})
    assert list(iter_folder_messages("takeout-20261126.zip", data)) == [
        ("Takeout/Mail/All mail Including Spam and Trash", M1), ("Takeout/Mail/All mail Including Spam and Trash", M2)]
    with pytest.raises(MailboxExportError) as exc:
        list(iter_messages("takeout.zip", data, ExportLimits(max_messages=1)))
    assert "more than 1 messages" in str(exc.value)
    damaged = bytearray(zipped({"a.mbox": mboxrd(M1, M2) * 20}))
    at = damaged.index(b"a.mbox") + 10
    damaged[at:at + 30] = b"\x00" * 30
    with pytest.raises(MailboxExportError):
        list(iter_messages("takeout.zip", bytes(damaged)))


def test_a_line_without_end_does_not_fill_memory_beyond_the_message_limit():
    data = b"From x Thu Nov 26 10:00:00 2026\nSubject: x\n\n" + b"y" * (3 * 2**20)
    with pytest.raises(MailboxExportError) as exc:
        list(iter_messages("x.mbox", data, ExportLimits(max_message_bytes=2**20)))
    assert "limit per message" in str(exc.value)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["x.mbox", "x.zip", "x.eml", "upload"]), st.binary(max_size=2000),
       st.sampled_from([b"", b"PK\x03\x04", b"From a Thu Nov 26 10:00:00 2026\n", b"Subject: x\n"]))
def test_any_bytes_give_messages_or_a_clean_export_error(name, data, prefix):
    try:
        for raw in iter_messages(name, prefix + data, ExportLimits(max_messages=50, max_message_bytes=10_000)):
            assert isinstance(raw, bytes)
    except MailboxExportError as exc:
        assert "\n" not in str(exc)


def test_scanning_an_export_gives_a_signal_table_and_counts_without_personal_data(tmp_path):
    from pipelines.mailbox.scan import scan_export

    corpus = build_corpus(n_per_kind=1, seed=5)
    write_mbox(corpus, tmp_path / "c.mbox")
    table, counts = scan_export("c.mbox", (tmp_path / "c.mbox").read_bytes(), "mb-01")
    assert counts["messages"] == len(corpus)
    assert counts["hard_bounce"] + counts["soft_bounce"] + counts["departed"] == table.num_rows > 0
    assert set(table["source_mailbox"].to_pylist()) == {"mb-01"}
    assert all(isinstance(v, int) for v in counts.values()) and not any("@" in k for k in counts)
