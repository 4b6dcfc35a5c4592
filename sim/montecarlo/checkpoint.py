"""Finished chunks saved on disk so that an interrupted run resumes where it stopped.

``<out>/.checkpoint/`` holds ``manifest.json`` (what run the chunks belong to) and one
``chunk-NNNNNN.npz`` per finished chunk. A chunk is only ever trusted when the manifest matches
the run being started exactly (scenario hash, engine, seed, replications, chunk size, bleedsim
version) and its array has the expected shape; anything else is stale and removed, since
mixing rows of two different runs would silently corrupt the estimates.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from sim.atomic import write_bytes, write_text

FOLDER = ".checkpoint"


class Checkpoint:
    def __init__(self, out_dir: Path, manifest: dict[str, Any]) -> None:
        self.folder = Path(out_dir) / FOLDER
        self.manifest = manifest

    def _chunk_path(self, chunk: int) -> Path:
        return self.folder / f"chunk-{chunk:06d}.npz"

    def open(self, expected_shapes: dict[int, tuple[int, int]]) -> dict[int, np.ndarray]:
        """Rows of the chunks already finished for this run; clears a checkpoint of another run."""
        found: dict[int, np.ndarray] = {}
        if self._stored_manifest() == self.manifest:
            for chunk, shape in expected_shapes.items():
                rows = self._load(chunk)
                if rows is not None and rows.shape == shape:
                    found[chunk] = rows
        else:
            self.remove()
            self.folder.mkdir(parents=True, exist_ok=True)
            write_text(self.folder / "manifest.json", json.dumps(self.manifest, sort_keys=True))
        return found

    def load(self, chunk: int, shape: tuple[int, int]) -> np.ndarray | None:
        """A finished chunk's rows, if saved with this shape (call :meth:`open` first)."""
        rows = self._load(chunk)
        return rows if rows is not None and rows.shape == shape else None

    def save(self, chunk: int, rows: np.ndarray) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, rows=rows)
        write_bytes(self._chunk_path(chunk), buffer.getvalue())

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _stored_manifest(self) -> Any:
        try:
            return json.loads((self.folder / "manifest.json").read_text())
        except (OSError, ValueError):
            return None

    def _load(self, chunk: int) -> np.ndarray | None:
        try:
            with np.load(self._chunk_path(chunk)) as data:
                return np.asarray(data["rows"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            return None
