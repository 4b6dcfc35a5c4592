"""A minimal discrete-event clock for the fast engine's skeleton, with SimPy's semantics.

The skeleton (:mod:`.skeleton`) used SimPy's ``Environment``; profiling 150 PSMail replications
showed a large share of the time in SimPy's general machinery (event objects with exception
handling, condition values, callback removal) rather than in the model. This clock implements
exactly the part the skeleton uses, with the same ordering rules, so that replications stay
identical to the last bit:

- events are processed in order of ``(time, priority, id)``, ``id`` counting every scheduling,
  process starts (``URGENT``) before other events (``NORMAL``) at the same time;
- a triggered event runs its callbacks in the order they were added;
- ``a | b`` triggers (is scheduled) as soon as one of them is processed, and its value holds
  the events processed by the time it is itself processed (SimPy's ``AnyOf``);
- ``run(until)`` processes every event strictly before ``until``.

What it leaves out (failures, interrupts, process return values, ``AllOf``) the skeleton never
uses. SimPy is documented at https://simpy.readthedocs.io/en/latest/api_reference/.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from heapq import heappop, heappush
from itertools import count
from typing import Any

URGENT = 0
NORMAL = 1

Callback = Callable[["Event"], None]


class Event:
    """Something that happens once; callbacks run when it is processed (then ``None``)."""

    __slots__ = ("clock", "callbacks", "value", "triggered")

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.callbacks: list[Callback] | None = []
        self.value: Any = None
        self.triggered = False

    def succeed(self, value: Any = None) -> None:
        if self.triggered:
            raise RuntimeError("an event succeeds once")
        self.triggered = True
        self.value = value
        self.clock.schedule(self, NORMAL, 0.0)

    def __or__(self, other: Event) -> AnyOf:
        return AnyOf(self.clock, (self, other))


class AnyOf(Event):
    """Triggers when the first of its events is processed; its value is the tuple of its
    events already processed when it is itself processed."""

    __slots__ = ("events",)

    def __init__(self, clock: Clock, events: tuple[Event, ...]) -> None:
        super().__init__(clock)
        self.events = events
        for event in events:
            if event.callbacks is None:
                self._check(event)
            else:
                event.callbacks.append(self._check)
        assert self.callbacks is not None
        self.callbacks.append(self._build_value)

    def _check(self, _event: Event) -> None:
        if not self.triggered:
            self.succeed()

    def _build_value(self, _event: Event) -> None:
        self.value = tuple(e for e in self.events if e.callbacks is None)


Process = Generator[Event, Any, None]


class Clock:
    """The event queue and the current time (``now``, seconds)."""

    __slots__ = ("now", "_queue", "_ids")

    def __init__(self) -> None:
        self.now = 0.0
        self._queue: list[tuple[float, int, int, Event]] = []
        self._ids = count()

    def schedule(self, event: Event, priority: int, delay: float) -> None:
        heappush(self._queue, (self.now + delay, priority, next(self._ids), event))

    def event(self) -> Event:
        return Event(self)

    def timeout(self, delay: float) -> Event:
        """An event processed ``delay`` seconds from now."""
        event = Event(self)
        event.triggered = True
        self.schedule(event, NORMAL, delay)
        return event

    def process(self, generator: Process) -> None:
        """Start ``generator`` now (before the other events of this instant); each event it
        yields resumes it, with the event's value, once processed."""
        start = Event(self)
        start.triggered = True

        def resume(event: Event) -> None:
            while True:
                try:
                    event = generator.send(event.value)
                except StopIteration:
                    return
                if event.callbacks is not None:
                    event.callbacks.append(resume)
                    return

        assert start.callbacks is not None
        start.callbacks.append(resume)
        self.schedule(start, URGENT, 0.0)

    def run(self, until: float) -> None:
        """Process every event scheduled strictly before ``until``, then stand at ``until``."""
        queue = self._queue
        while queue and queue[0][0] < until:
            self.now, _, _, event = heappop(queue)
            callbacks, event.callbacks = event.callbacks, None
            assert callbacks is not None
            for callback in callbacks:
                callback(event)
        self.now = until
