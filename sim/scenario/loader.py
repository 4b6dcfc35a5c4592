"""Scenario files to resolved scenarios: read, parse, validate, resolve.

Each stage refuses what it cannot make sense of with every problem it found, and the next
stage runs only on what the previous one accepted; nothing but :class:`ScenarioError` leaves
this module for bad input, so the CLI can print problems and exit with status 2.
"""

from __future__ import annotations

import os
from pathlib import Path as FsPath

from sim.scenario.errors import Problem, ScenarioError
from sim.scenario.extends import resolve_extends
from sim.scenario.model import Scenario
from sim.scenario.resolve import resolve
from sim.scenario.validate import validate
from sim.scenario.yamlsafe import MAX_BYTES, Document, load_yaml


def _refuse(filename: str, message: str, line: int | None = None) -> ScenarioError:
    return ScenarioError([Problem(filename, line, "", message)])


def read_text(path: str | os.PathLike[str]) -> str:
    """The file's text, refusing folders, missing files, oversized files and non-UTF-8 bytes
    before anything is parsed; at most ``MAX_BYTES + 1`` bytes are ever read."""
    filename = os.fspath(path)
    p = FsPath(filename)
    try:
        if p.is_dir():
            raise _refuse(filename, "is a folder; expected a scenario file (.yaml)")
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise _refuse(filename, f"file is {size} bytes; scenario files are limited to "
                          f"{MAX_BYTES} bytes (1 MiB)")
        with p.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise _refuse(filename, "no such file") from None
    except OSError as e:
        raise _refuse(filename, f"cannot be read: {e.strerror or e}") from None
    if len(data) > MAX_BYTES:
        raise _refuse(filename, f"file is larger than {MAX_BYTES} bytes (1 MiB), the limit for "
                      "scenario files")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise _refuse(filename, f"not UTF-8 text: byte 0x{data[e.start]:02x} at offset "
                      f"{e.start} cannot be decoded; save the file as UTF-8", line) from None


def parse_scenario(text: str, filename: str = "<string>", folder: str | os.PathLike[str] = ".") -> Scenario:
    """Parse, validate and resolve scenario ``text``; ``filename`` is used in messages and
    ``extends`` is read relative to ``folder``."""
    if len(text) > MAX_BYTES:
        raise _refuse(filename, f"text is larger than {MAX_BYTES} bytes (1 MiB), the limit for "
                      "scenario files")
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as e:
        raise _refuse(filename, f"not valid Unicode text at character {e.start}",
                      text.count("\n", 0, e.start) + 1) from None
    if size > MAX_BYTES:
        raise _refuse(filename, f"text is larger than {MAX_BYTES} bytes (1 MiB), the limit for "
                      "scenario files")
    doc = resolve_extends(load_yaml(text, filename), filename, FsPath(folder), _read_base)
    raw = validate(doc, filename)
    return resolve(raw, doc, filename)


def _read_base(path: FsPath, chain: tuple[str, ...]) -> Document:
    """A file named by ``extends``: it must be a scenario on its own, checked under its name."""
    filename = os.fspath(path)
    doc = resolve_extends(load_yaml(read_text(path), filename), filename, path.parent,
                          _read_base, chain)
    resolve(validate(doc, filename), doc, filename)
    return doc


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Load a scenario file; raises :class:`ScenarioError` (never anything else) when it is bad."""
    return parse_scenario(read_text(path), os.fspath(path), FsPath(path).parent)
