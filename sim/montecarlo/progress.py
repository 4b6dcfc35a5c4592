"""A one-line progress bar for long runs, drawn on stderr only when a person is watching."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30


class Progress:
    """Redraws ``[#####.....] done/total  pct  rate/s  ETA`` in place with ``\\r``.

    Disabled unless the stream is a terminal, so that logs and pipes stay clean. Replications
    resumed from a checkpoint count as done but not toward the rate.
    """

    def __init__(
        self, total: int, already: int = 0, enabled: bool = True, stream: TextIO | None = None
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled and self.stream.isatty()
        self.total = total
        self.done = already
        self._resumed = already
        self._start = time.monotonic()
        self._last_draw = 0.0

    def advance(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and (now - self._last_draw >= 0.1 or self.done >= self.total):
            self._last_draw = now
            self._draw(now)

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    def _draw(self, now: float) -> None:
        elapsed = max(now - self._start, 1e-9)
        rate = (self.done - self._resumed) / elapsed
        left = self.total - self.done
        eta = _duration(left / rate) if rate > 0 else "?"
        filled = int(WIDTH * self.done / self.total) if self.total else WIDTH
        bar = "#" * filled + "." * (WIDTH - filled)
        pct = 100.0 * self.done / self.total if self.total else 100.0
        self.stream.write(
            f"\r[{bar}] {self.done}/{self.total} {pct:5.1f}%  {rate:,.0f} rep/s  ETA {eta}\x1b[K"
        )
        self.stream.flush()


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"
