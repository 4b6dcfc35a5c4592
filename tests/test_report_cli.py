"""``bleedsim report`` on files that are not a results.json: exit status 2, one clear message,
no traceback and no file written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from report_checks import golden

from sim.cli import main


def refuse(args: list[str], capsys: pytest.CaptureFixture[str], folder: Path) -> str:
    before = sorted(folder.rglob("*"))
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("bleedsim: ") and "Traceback" not in err
    assert sorted(folder.rglob("*")) == before
    return err


def write(folder: Path, content: Any) -> Path:
    path = folder / "results.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content),
                    encoding="utf-8")
    return path


def test_missing_file_and_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.json"
    assert "nope.json: no such file" in refuse(["report", str(missing)], capsys, tmp_path)
    assert "is a folder" in refuse(["report", str(tmp_path)], capsys, tmp_path)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "is not JSON"),
        ("[1, 2]", "not a JSON object"),
        ({}, "is not a bleedsim results.json: missing 'scenario'"),
    ],
)
def test_not_a_results_document(
    content: Any, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert says in refuse(["report", str(write(tmp_path, content))], capsys, tmp_path)


def test_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "results.json"
    path.write_bytes(b'{"scenario": "\xff"}')
    assert "is not JSON" in refuse(["report", str(path)], capsys, tmp_path)


NOT_A_NUMBER = "'outcomes.key.p_any' is not a number"


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda d: d["outcomes"]["key"].update(p_any="0.5"), NOT_A_NUMBER),
        (lambda d: d["outcomes"]["key"].update(p_any=True), NOT_A_NUMBER),
        (lambda d: d.update(replications=2.5), "'replications' is not a whole number"),
        (lambda d: d["servers"].update({"\x1b[2J": {}}), "missing 'servers.\\x1b[2J.holds'"),
        (lambda d: d["claims"]["keys-safe"].update(ci95=[0.1]),
         "'claims.keys-safe.ci95' is not a [low, high] pair"),
        (lambda d: d.update(description=["<b>"]), "'description' is not a string"),
    ],
)
def test_a_wrong_value_is_named_and_nothing_is_written(
    edit: Any, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = golden()
    edit(doc)
    err = refuse(["report", str(write(tmp_path, doc))], capsys, tmp_path)
    assert says in err and "\x1b" not in err


def test_out_must_be_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = write(tmp_path, golden())
    (tmp_path / "taken").write_text("")
    err = refuse(["report", str(results), "--out", str(tmp_path / "taken")], capsys, tmp_path)
    assert "is a file, not a folder" in err


def test_default_folder_is_the_results_folder(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    results = write(tmp_path, golden())
    assert main(["report", str(results)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.md",
                                                          "results.json", "table.txt"]
