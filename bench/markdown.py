"""BENCHMARKS.md is shared by several scripts: each owns one section between its markers."""

from __future__ import annotations

from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def replace_section(section: str, begin: str, end: str, md_path: Path = BENCHMARKS_MD) -> None:
    """Put `section` (which starts with a marker beginning like `begin` and ends with `end`) in
    place of the previous one, or append it; the other sections stay as they are."""
    text = md_path.read_text("utf-8") if md_path.exists() else "# Benchmarks\n\n"
    begin_at, end_at = text.find(begin), text.find(end)
    if begin_at >= 0 and end_at > begin_at:
        text = text[:begin_at] + section.rstrip("\n") + "\n" + text[end_at + len(end):].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    tmp = md_path.with_suffix(".md.tmp")
    tmp.write_text(text, "utf-8")
    tmp.replace(md_path)
