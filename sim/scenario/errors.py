"""Why a scenario file was refused, in terms a user can act on.

A refused file must never produce a traceback: every problem becomes a :class:`Problem` that
names the file, the line (when known), the dotted field path and what was expected, and all
problems found are reported together so that one run of ``bleedsim check`` fixes a file.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int | None
    path: str
    """Dotted field path (``servers.mail.restart.every``); empty for the file as a whole."""
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ScenarioError(Exception):
    """A scenario that cannot be loaded; ``problems`` lists every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)
