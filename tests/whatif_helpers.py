"""Small scenarios for the what-if tests: the tiny scenario on the fast engine, and the
minimal scenario (a closed form in the presence of its attacker) with a claim."""

from __future__ import annotations

from pathlib import Path

from conftest import REPO, TINY_YAML

MINIMAL = (REPO / "scenarios" / "minimal.yaml").read_text()


def tiny_fast(tmp_path: Path, replications: int = 40, name: str = "tiny.yaml") -> Path:
    path = tmp_path / name
    path.write_text(TINY_YAML.format(replications=replications).replace("engine: reference",
                                                                          "engine: fast"))
    return path


def minimal_with_claim(tmp_path: Path, presence: float | None = None, replications: int = 200,
                       name: str = "minimal.yaml") -> Path:
    """minimal.yaml with ``prober.presence`` written (default: absent, i.e. 1), one source
    written out (a field the key does not depend on) and a prior claim on the key."""
    text = MINIMAL.replace(
        "    targets: [web]\n",
        "    targets: [web]\n    sources: 1\n"
        + ("" if presence is None else f"    presence: {presence!r}\n"),
    )
    text = text.replace("  replications: 10000", f"  replications: {replications}")
    text = text.replace("monte_carlo:", "claims:\n  key-safe:\n    text: Our key is safe.\n"
                        "    outcome: key\n    given: prior\n    at_most: 0.1\n\nmonte_carlo:")
    path = tmp_path / name
    path.write_text(text)
    return path
