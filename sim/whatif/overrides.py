"""Scenario fields changed by dotted path, applied to the file's raw data before validation.

A value given on the command line (``servers.mail.restart.every=6h``) replaces what the YAML
file holds at that path and the result goes through the same validation and resolution as the
file itself. So a value keeps its field's own units and syntax (``6h``, ``360/h``, ``64KiB``),
and a bad value is refused with the loader's own message, prefixed by the point it belongs to.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from sim.scenario.errors import ScenarioError
from sim.scenario.loader import read_text
from sim.scenario.model import Scenario
from sim.scenario.resolve import resolve
from sim.scenario.validate import validate
from sim.scenario.yamlsafe import Document, load_yaml

Scalar = str | int | float | bool

REPLICATIONS = "monte_carlo.replications"
SEED = "monte_carlo.seed"
ENGINE = "monte_carlo.engine"


class OverrideError(Exception):
    """A ``--set``/``--param``/``--vary`` argument or the point it makes cannot be used."""


@dataclass(frozen=True, slots=True)
class Base:
    """A scenario file read and parsed once; every what-if point starts from a copy of it."""

    filename: str
    document: Document

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Base:
        """Raises :class:`ScenarioError` when the file cannot be read or parsed."""
        filename = os.fspath(path)
        return cls(filename, load_yaml(read_text(Path(filename)), filename))

    def scenario(self, overrides: dict[str, Scalar], label: str = "") -> Scenario:
        """The scenario with ``overrides`` applied; :class:`OverrideError` names ``label``."""
        data = copy.deepcopy(self.document.data)
        try:
            for path, value in overrides.items():
                _set(data, path, value)
            doc = Document(data, self.document.lines)
            return resolve(validate(doc, self.filename), doc, self.filename)
        except (OverrideError, ScenarioError) as e:
            where = f"{label}: " if label else ""
            raise OverrideError(f"{where}{e}") from None


    def value_at(self, path: str) -> object:
        """The file's value at dotted ``path`` (None when it is not written there)."""
        node = self.document.data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node


def parse_value(text: str) -> Scalar:
    """A value as YAML would read it in the file: ``0.5`` a number, ``6h`` text, ``true`` a bool."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = text
    if isinstance(value, str | int | float | bool) and not isinstance(value, dict | list):
        return value
    if value is None:
        raise OverrideError(f"{text!r}: empty value")
    return text


def format_value(value: Scalar) -> str:
    """The text a value was given as, for labels, CSV cells and manifests."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def split_assignment(text: str, flag: str) -> tuple[str, str]:
    """``PATH=REST`` into its two halves, refusing an empty path or value."""
    path, sep, rest = text.partition("=")
    path, rest = path.strip(), rest.strip()
    if not sep or not path or not rest:
        raise OverrideError(f"{flag} {text!r}: expected PATH=VALUE (e.g. servers.mail.restart.every=6h)")
    return path, rest


def parse_set(text: str) -> tuple[str, list[Scalar]]:
    """``--set PATH=V1,V2,...`` into the path and its values."""
    path, rest = split_assignment(text, "--set")
    values = [parse_value(v.strip()) for v in rest.split(",")]
    if any(v == "" for v in values):
        raise OverrideError(f"--set {text!r}: an empty value between commas")
    return path, values


def _set(data: object, path: str, value: Scalar) -> None:
    """Replace the value at dotted ``path``; every part but the last must already exist."""
    parts = path.split(".")
    if any(not p for p in parts):
        raise OverrideError(f"{path!r} is not a dotted field path (e.g. servers.mail.restart.every)")
    node = data
    for depth, part in enumerate(parts[:-1]):
        if not isinstance(node, dict) or part not in node:
            where = ".".join(parts[:depth]) or "the top level"
            known = ", ".join(sorted(node)) if isinstance(node, dict) else "nothing (not a mapping)"
            raise OverrideError(f"{path}: {where} has no field {part!r} (it has {known})")
        node = node[part]
    if not isinstance(node, dict):
        raise OverrideError(f"{path}: {'.'.join(parts[:-1])} is not a mapping")
    if isinstance(node.get(parts[-1]), dict | list):
        raise OverrideError(f"{path} is a block of fields, not one value; set one of its fields")
    node[parts[-1]] = value
