"""``make demo``: the main job end to end on the embedded stack, and what it leaves in ``out/``."""

from __future__ import annotations

from pathlib import Path

from dunning.app.print_extract import extract_files
from dunning_ops.local.demo import run_demo


def test_the_demo_runs_and_writes_letters_emails_and_the_print_extract(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert run_demo(out) == 0
    said = capsys.readouterr().out
    letters = list((out / "letters").glob("*.pdf"))
    prints = sorted(p.name for p in (out / "print").iterdir())
    assert len(letters) >= 10 and list((out / "emails").glob("*.eml"))
    # one merged PDF and one CSV manifest per language of the letters
    languages = {p.name.split("_")[1] for p in letters}
    assert {n.rsplit("-", 1)[0] for n in prints if n.endswith(".pdf")} == languages
    assert len([n for n in prints if n.endswith(".csv")]) == len([n for n in prints if n.endswith(".pdf")])
    assert f"print:    {len(letters)} letters in {len(prints)} files" in said
    report = (out / "run-report.html").read_text(encoding="utf-8")  # the console's run report, as a file
    assert report.count('<svg class="chart"') == 5 and "<style>" in report
    assert f"report:   {out}/run-report.html" in said


def test_extract_files_of_a_manual_extract_and_of_a_run() -> None:
    assert extract_files({"files": ["print/a.pdf", "print/a.csv"]}) == ["print/a.pdf", "print/a.csv"]
    run = {"letters": 3, "shards": [{}, {}], "extracted": [{"files": ["print/en-000.pdf", "print/en-000.csv"]},
                                                         {"files": ["print/ru-000.pdf", "print/ru-000.csv"]}]}
    assert extract_files(run) == ["print/en-000.pdf", "print/en-000.csv", "print/ru-000.pdf", "print/ru-000.csv"]
    assert extract_files({"ready": False}) == []
