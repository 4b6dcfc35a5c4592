"""Commented scenario templates for ``bleedsim init``: a starting point that passes ``check``.

The templates are YAML files shipped inside the package (``sim/templates/``), written for
people: every number says whether the user must measure it, whether it comes from the public
and lab figures of ``docs/facts.md``, or whether it is an assumption to revisit. Tests load
every template and check that exactly that is true.
"""

from __future__ import annotations

from importlib import resources

NAMES = ("web", "mail", "vpn", "full")


def text(name: str) -> str:
    """The template's text, as ``bleedsim init`` writes it."""
    if name not in NAMES:
        raise ValueError(f"no template {name!r}; templates are {', '.join(NAMES)}")
    return (resources.files("sim") / "templates" / f"{name}.yaml").read_text(encoding="utf-8")
