"""The state-changing events of one server, in one SimPy process.

Only events that change what later heartbeats can capture are simulated: attack phases (an
attacker starting, stopping or giving up after ``stop_when: key``), the vulnerable window
opening and closing, the session ramp after the cold start, and per worker its restarts
(scheduled, ``max_requests``, crashes, the patch) and key captures. Heartbeats, logins and
requests are never simulated one by one:

* crashing connections are a Poisson thinning of an attacker's connections (each crashes with
  ``1 - (1 - p)^k``), so their times are exponential races;
* the ``max_requests``-th connection after a restart is reached when the integrated connection
  rate hits a Gamma(N, 1) draw (random time change), whatever the rates do meanwhile; with
  sessions beside ``max_requests`` the server's logins are drawn first
  (:mod:`sim.engines.fast.login_timeline`), a worker's own are events that count one each,
  and the session requests they imply join the time change, which is then exact;
* the first key capture by any attacker still "watching" the key is the root of an exact
  survival function (:mod:`sim.engines.fast.key_copies`);
* except for a listed attacker while it watches the key (*followed*): each of its connections
  is an event here, since whether it misses the key tells about the copies resident
  (:meth:`ServerRun._followed_connection`);
* stretches without attack traffic are jumped over in one step
  (:func:`sim.model.restarts.max_requests_restarts`; restart by restart when the logins are
  drawn), since nothing can be captured there.

After the vulnerable window closes nothing reads a worker's memory or crashes it, so a worker
is followed only up to its first restart at or after the close, which ends the last lifetime
that could have been read (with ``max_requests`` its end conditions the reads inside it); the
lifetime begun then is taken to last to the horizon. Attack phases are still closed at every
boundary, so the detectors see every connection. On PSMail that spares the six and a half days
of daily restarts after the patch.

Between events every worker keeps the distribution of its hidden key-copy state, conditioned
on what has (not) happened; at an interruption it is advanced exactly and the next event time
is drawn afresh, which is exact because each draw is from the conditional law. The workers
are records stepped by the server's process (:meth:`ServerRun._serve`), each with its next
event in a heap, rather than processes of their own: a new configuration interrupts every
worker, and SimPy's wake-ups of a process per worker cost more than the redraws.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
import simpy

from sim.engines.fast.key_copies import Dynamics, KeyChain, capture_time
from sim.engines.fast.key_count import CountDynamics, KeyCount, key_copies_for
from sim.engines.fast.segments import (
    AttackerRates,
    CrashInfo,
    EndCause,
    KeyCapture,
    ListedConnection,
    WorkerLifetime,
    Segment,
)
from sim.engines.fast.listed import listed_attackers, sample_listed
from sim.engines.fast.login_timeline import LoginTimeline, drives_restarts
from sim.engines.fast.reads import pick
from sim.engines.fast.shared_buffer import always_shared
from sim.engines.fast.spectral import propagate, propagate_rows
from sim.model.record import AttackPhase, Captures, Connection, Crash, Observations
from sim.model.attackers import ActiveWindow, covered
from sim.model.capture import CaptureTable, any_of
from sim.model.restarts import max_requests_restarts, workers_scheduled_restarts
from sim.scenario.model import Attacker, Scenario, Server

#: The session ramp after the cold start (rule 18) is followed in this many constant steps.
RAMP_STEPS = 8
#: Above this mean a Poisson count is taken as its mean (relative spread below 1e-7).
POISSON_EXACT_LIMIT = 1e14
#: How a quiet stretch counts a worker's logins towards its next restart
#: (:meth:`ServerRun._count_until`): the first this many one by one (a batch's numpy calls
#: cost about as much as 10 of them, and most restarts come within a few logins)...
_ONE_BY_ONE = 16
#: ... then in batches of this many, growing fourfold up to the last.
_FIRST_BATCH, _LAST_BATCH = 64, 65_536


def crash_chance(p: float, heartbeats: int) -> float:
    """P(a connection of ``heartbeats`` answered heartbeats crashes its worker): each heartbeat
    crashes it independently, as one piece is captured by each of several tries."""
    return any_of(1, p, heartbeats)


@dataclass(slots=True)
class KeyRecord:
    """First key capture per attacker on this server, and the malicious total."""

    own: dict[str, Captures] = field(default_factory=dict)
    total: Captures = field(default_factory=Captures)


Waits = Literal["change", "attack", "never"]
"""What a worker sleeps until (:meth:`ServerRun._step`): the next configuration, or its
:attr:`_Worker.pending` event if that comes first (``"change"``); the next attack, having
crossed the attack-free stretch (:meth:`ServerRun._jump`); nothing more (``"never"``)."""


@dataclass(slots=True)
class _Worker:
    index: int
    life: WorkerLifetime
    copies: np.ndarray | int
    """Its transient key copies: the chain's law of their number, conditioned on what has
    (not) happened (:mod:`.key_copies`), or their drawn number (:mod:`.key_count`)."""
    sched: _Schedule
    used: float = 0.0
    """Connection intensity integrated since the last restart."""
    target: float = math.inf
    """Gamma(max_requests, 1) draw: the restart comes when ``used`` reaches it."""
    left: int = 0
    """``target`` is the ``left``-th arrival of the counted connections in the time changed by
    ``used``: ``max_requests`` less those served since the restart that are known one by one
    (:meth:`ServerRun._count_known`)."""
    next_scheduled: int = 0
    next_login: int = 0
    """Its first login not yet counted (:attr:`ServerRun.logins`)."""
    waits: Waits = "change"
    pending: _Pending | None = None
    config_id: int = -1
    """The configuration the worker last stepped in (:meth:`ServerRun._step`)."""


class _Pending(NamedTuple):
    """A worker's next event, drawn at ``since`` in the configuration it stepped in: what the
    worker is advanced by when it fires or the configuration changes first."""

    at: float
    seq: int
    """Its heap entry's tie-breaker: an entry whose worker's pending event has another is
    stale."""
    kind: str
    since: float
    dyn: Dynamics | CountDynamics
    cfg: Segment
    conn_rate: float
    rates: _Rates


class _Rates(NamedTuple):
    """A configuration's rates per worker. Followed attackers' connections
    (:attr:`.segments.AttackerRates.followed`) are events of their own, so they are left out
    of the streams the other events are drawn from: the count toward ``max_requests`` and the
    crash race."""

    counted: tuple[float, float]
    """Connections per second counted by :attr:`_Worker.used`, in a lifetime whose long-lived
    key is not (index 0) or is (1) reachable: the ones known one by one aside (followed, and
    candidates where the copies are drawn), those that neither crash nor take the key.
    Before the lifetime's first crash or key capture none of those has come, and the count
    is of what has: a crashing connection ends the lifetime, and a key-taking one is an event
    counted when it comes (:meth:`ServerRun._count_known`). Each is an independent thinning
    of the attacker's connections (the capture's with the chance of the stationary copies,
    exact without transient copies), so the count's time change is exact with them left
    out, where counting all connections put the restart ahead of the crash or the capture
    too often: ``(1 + q)^-N`` for ``(1 - q)^N`` with a capture chance ``q`` per connection
    (``docs/fast-engine.md``, the skeleton).
    """
    crash_rates: list[float]
    """Per attacker of the configuration, its crashing connections per second (0 if followed)."""
    crash: float
    followed_rates: np.ndarray
    """Per attacker, its connections per second if followed, else 0."""
    followed: float


@dataclass(frozen=True, slots=True)
class _Schedule:
    """A worker's scheduled restarts and the patch, in time order (the patch first on a tie).

    Kept as an array, read a time or a slice at a time: over PSMail's two years a worker has
    800 daily restarts, of which the attack's few weeks read a handful, and making a list of
    them all cost more than drawing them."""

    times: np.ndarray
    patch: int | None
    """Index of the patch in ``times``, if it falls before the horizon."""

    @property
    def size(self) -> int:
        return self.times.size

    def time(self, i: int) -> float:
        return float(self.times[i])

    def between(self, i: int, j: int) -> list[float]:
        return self.times[i:j].tolist()

    def first_from(self, t: float, lo: int) -> int:
        """``bisect_left(times, t, lo)``: the first restart at or after ``t``, from ``lo`` on."""
        return max(lo, int(self.times.searchsorted(t, side="left")))

    def cause(self, i: int) -> EndCause:
        return "patch" if i == self.patch else "scheduled"


def reachable_steps(lives: Iterable[WorkerLifetime], t0: float, t1: float
                    ) -> list[tuple[float, float, int]]:
    """``[t0, t1)`` cut where the number of ``lives`` holding a reachable key changes (a life
    holds it on ``[start, end)``): that number on each stretch, equal neighbours merged.

    One sweep over the starts and ends: with ``max_requests`` on a busy server an attack
    segment can see hundreds of thousands of restarts, and counting the lives at every edge
    had cost their number squared (minutes a replication)."""
    if t1 <= t0:
        return []
    near = 0
    change: dict[float, int] = {}
    for life in lives:
        if not life.key_reachable or life.start >= t1 or life.end <= t0:
            continue
        if life.start <= t0:
            near += 1
        else:
            change[life.start] = change.get(life.start, 0) + 1
        if life.end < t1:
            change[life.end] = change.get(life.end, 0) - 1
    steps: list[tuple[float, float, int]] = []
    lo = t0
    for x in sorted(change):
        if change[x]:
            _append_step(steps, lo, x, near)
            near, lo = near + change[x], x
    _append_step(steps, lo, t1, near)
    return steps


def _append_step(steps: list[tuple[float, float, int]], lo: float, hi: float, near: int) -> None:
    if steps and steps[-1][2] == near:
        steps[-1] = (steps[-1][0], hi, near)
    else:
        steps.append((lo, hi, near))


class ServerRun:
    """Simulates one server's state-changing events over ``[0, analysis_at)``."""

    def __init__(
        self,
        scenario: Scenario,
        server: Server,
        attackers: dict[str, tuple[Attacker, ActiveWindow]],
        rng: np.random.Generator,
        observations: Observations,
    ) -> None:
        self.server = server
        self.attackers = attackers
        self.rng = rng
        self.obs = observations
        self.horizon = scenario.horizon
        self.W = server.total_workers
        self.closes = server.vulnerable_until
        """The vulnerable window's end: each worker is followed only to its next restart after
        it (module docstring), checked at every wake-up."""
        self.tables = {name: CaptureTable(server, a) for name, (a, _) in attackers.items()}
        self.stopped: set[str] = set()
        self.watched: frozenset[str] = frozenset(attackers)
        self._watch_ends = self._last_key_chance()
        self.keys = KeyRecord({name: Captures() for name in attackers})
        self.segments: list[Segment] = []
        self.lifetimes: list[WorkerLifetime] = []
        self.env = simpy.Environment()
        self._due: list[tuple[float, int, _Worker]] = []
        """The workers' pending events, a heap by time (stale entries are skipped)."""
        self._pushed = 0
        self._quiet_cache: dict[int, list[Segment]] = {}
        self._quiet_configs: dict[float, Segment] = {}
        """Attack-free configurations made ahead by :meth:`_quiet_stretch`, by start: one
        depends on its start alone (no attacker, so nothing stopped or watching)."""
        self._rates_cache: dict[int, _Rates] = {}
        self._dynamics_cache: dict[tuple[int, bool], Dynamics | CountDynamics] = {}
        self._uneventful_cache: dict[int, bool] = {}
        self._boundaries = self._boundary_times()
        self._hb_connections = {name: 0.0 for name in attackers}
        self._hb_captures_expected = {name: 0.0 for name in attackers}
        self.key_copies = key_copies_for(server, (a for a, _ in attackers.values()),
                                         self.horizon)
        self._chain = self.key_copies if isinstance(self.key_copies, KeyChain) else None
        self._count = self.key_copies if isinstance(self.key_copies, KeyCount) else None
        """Where the copies are drawn (:mod:`.key_count`), and so are the watching attackers'
        connections (*candidates*), rather than the chain's law carried."""
        self._copies_rng = rng.spawn(1)[0] if self._count is not None else rng
        """The counted copies' moves, from a stream of their own (spawning draws nothing
        from ``rng``): how far and how often they are carried, which changes nothing they
        are read for, then shifts no other draw."""
        self._states: list[_Worker] = []
        self._ended_mark = 0
        """Lifetimes ended before the current configuration began (:meth:`_reachable_steps`)."""
        self._config_id = 0
        self.listed = listed_attackers(scenario, server, (a for a, _ in attackers.values()))
        self._attacker_rates = self._all_attacker_rates()
        self._ramp = self._ramp_rates()
        self.logins: LoginTimeline | None = None
        """The server's logins where they drive ``max_requests`` (:mod:`.login_timeline`):
        each worker's own are counted as known points, the session requests they imply by the
        time change. From a stream of their own, as the listed connections'."""
        windows = [w for _, w in attackers.values()]
        connections = sum(a.connection_rate * w.open_before(self.horizon)
                          for a, w in attackers.values())
        # what the shared buffer's draw on the logins would read: the attacked stretches of the
        # vulnerable window, and the crashes there (each ends a lifetime)
        readable = min(self.horizon, server.vulnerable_until)
        open_for = [w.open_before(readable) for w in windows]
        crashes = sum(a.connection_rate * t
                      * crash_chance(server.crash_probability, a.heartbeats_per_connection)
                      for (a, _), t in zip(attackers.values(), open_for))
        shared = always_shared(server, self.horizon, connections,
                               attacked=covered(windows, readable),
                               windows=sum(t > 0.0 for t in open_for), crashes=crashes)
        if drives_restarts(server, self.horizon, shared, connections,
                           covered(windows, self.horizon)):
            self.logins = LoginTimeline.draw(server, self.horizon, rng.spawn(1)[0])
        self.config = self._make_config(0.0)

    # -- configuration ---------------------------------------------------------------------
    def _all_attacker_rates(self) -> dict[tuple[str, bool], AttackerRates]:
        """Each attacker's rates per worker, outside and inside the vulnerable window: all a
        configuration needs of it but whether it watches the key (:meth:`_make_config`)."""
        rates = {}
        for name, (a, _) in self.attackers.items():
            table = self.tables[name]
            for vulnerable in (False, True):
                rates[name, vulnerable] = AttackerRates(
                    name=name,
                    benign=a.benign,
                    connection_rate=a.connection_rate / self.W,
                    heartbeats=a.heartbeats_per_connection,
                    key_ops=a.key_ops_per_connection,
                    c_key=table.key if vulnerable else 0.0,
                    c_password=table.password if vulnerable else 0.0,
                    c_token=table.token if vulnerable else 0.0,
                    listed=name in self.listed,
                )
        return rates

    def _last_key_chance(self) -> float:
        """When the last attacker still watching the key stops being able to capture it (its
        window or the vulnerable window ends). From then on no worker's key copies are read
        again, and the skeleton stops carrying them: on PSMail most configurations come after
        it (attackers keep sending to the patched servers)."""
        return max((min(window.t1, self.server.vulnerable_until)
                    for name, (_, window) in self.attackers.items()
                    if name in self.watched and self.tables[name].key > 0.0), default=-math.inf)

    def _carries_keys(self, t: float) -> bool:
        """Whether a worker's key copies can still be read at or after ``t``
        (:meth:`_last_key_chance`)."""
        return t < self._watch_ends

    def _boundary_times(self) -> list[float]:
        s, h = self.server, self.horizon
        times = {s.vulnerable_from, s.vulnerable_until}
        for _, window in self.attackers.values():
            times.update((window.t0, window.t1))
        if s.sessions is not None and s.traffic.logins_per_s > 0:
            ttl = s.sessions.ttl
            times.update(ttl * i / RAMP_STEPS for i in range(1, RAMP_STEPS + 1))
        return sorted(t for t in times if 0.0 < t < h)

    def _requests_at(self, t: float) -> tuple[float, float]:
        """Legitimate (requests, session requests) per second per worker at ``t``.

        Sessions open from the cold start on, so their requests ramp up over the first ``ttl``
        (rule 18); the ramp is followed as a staircase of ``RAMP_STEPS`` steps, each at the
        rate of its midpoint.
        """
        sessions = self.server.sessions
        if sessions is None or sessions.ttl <= 0:
            return self._ramp[RAMP_STEPS]
        return self._ramp[min(RAMP_STEPS, math.floor(t / sessions.ttl * RAMP_STEPS))]

    def _ramp_rates(self) -> list[tuple[float, float]]:
        """:meth:`_requests_at` on each step of the ramp, the last one its end: computed once
        per server and replication, where a replication asks for them dozens of times."""
        s = self.server
        tr = s.traffic
        other = tr.other_requests_per_s(s.sessions)
        rates = []
        for step in range(RAMP_STEPS + 1):
            sessions = 0.0
            if s.sessions is not None:
                ttl = s.sessions.ttl
                opened = ttl if step >= RAMP_STEPS else ttl * (step + 0.5) / RAMP_STEPS
                sessions = tr.logins_per_s * s.sessions.requests_per_s * opened
            rates.append(((other + tr.logins_per_s + sessions) / s.workers, sessions / s.workers))
        return rates

    def _make_config(self, t: float) -> Segment:
        s = self.server
        vulnerable = s.is_vulnerable(t)
        active = [self._attacker_rates[name, vulnerable]
                  for name, (_, window) in self.attackers.items()
                  if name not in self.stopped and window.t0 <= t < window.t1]
        requests, session_requests = self._requests_at(t)
        logins = s.traffic.logins_per_s / s.workers
        nxt = bisect.bisect_right(self._boundaries, t)
        t1 = self._boundaries[nxt] if nxt < len(self._boundaries) else self.horizon
        seg = Segment(
            t0=t,
            t1=t1,
            vulnerable=vulnerable,
            requests=requests,
            logins=logins,
            session_requests=session_requests,
            handshakes=s.traffic.handshakes_per_s / s.workers,
            crash_probability=s.crash_probability if vulnerable else 0.0,
            attackers=tuple(active),
            session_rate=s.sessions.requests_per_s / self.W if s.sessions is not None else 0.0,
        )
        watching = [a.name in self.watched and a.c_key > 0 for a in active]
        if not any(watching):
            return seg
        return seg.reshaped(seg.t1, tuple(
            (a.watching(followed=True) if a.listed
             else a.watching(self.key_copies.key_miss(seg, a))) if w else a
            for a, w in zip(active, watching)
        ))

    def _close(self, now: float) -> None:
        cfg = self.config
        if now <= cfg.t0:
            return
        seg = cfg.reshaped(now, cfg.attackers)
        self.segments.append(seg)
        steps: list[tuple[float, float, int]] | None = None
        for a in seg.attackers:
            self._hb_connections[a.name] += a.connection_rate * self.W * seg.duration
            if a.listed:  # every connection is known one by one (:meth:`run`)
                continue
            survive = (1.0 - seg.crash_probability) ** a.heartbeats
            # Key-capturing connections are listed one by one (``known_connections``); the
            # phases carry the others. While the attacker watches the key, whether a
            # connection misses it depends on the placement of the lifetime it reaches, so the
            # rate follows how many workers hold a reachable key, changing at restarts.
            miss_apart, miss_near = a.key_miss
            if miss_apart == miss_near:
                stretches = [(seg.t0, now, 0)]
            else:
                steps = steps if steps is not None else self._reachable_steps(seg.t0, now)
                stretches = steps
            for t0, t1, near in stretches:
                miss = (self.W - near) * miss_apart + near * miss_near
                self.obs.phases.append(
                    AttackPhase(a.name, self.server.name, t0, t1,
                                a.connection_rate * survive * miss, seg.vulnerable)
                )

    def _reachable_steps(self, t0: float, t1: float) -> list[tuple[float, float, int]]:
        """:func:`reachable_steps` of the lifetimes that can meet ``[t0, t1)``.

        The segment being closed had attackers, so every lifetime that ended inside it was
        appended at its restart, after :attr:`_ended_mark`; the others are the open ones.
        """
        lives = self.lifetimes[self._ended_mark:] + [state.life for state in self._states]
        return reachable_steps(lives, t0, t1)

    def reconfigure(self, now: float) -> None:
        """A new configuration from ``now``; the workers step into it once the event being
        handled is (:meth:`_wake`)."""
        self._close(now)
        self._ended_mark = len(self.lifetimes)
        made = self._quiet_configs.pop(now, None)
        self.config = made if made is not None else self._make_config(now)
        self._config_id += 1

    def _quiet_stretch(self, now: float, config_id: int) -> list[Segment]:
        """The attack-free configurations from ``now`` up to the next attack (or the horizon).

        Nothing can stop or start an attacker inside them, so they are known in advance and
        every worker can cross them in one go instead of waking at each boundary. Without
        ``max_requests`` a worker's request rate matters there only to its key copies, so
        neighbours that move the copies alike are crossed as one (:meth:`_jump`): the eight
        steps of the session ramp, on PSMail.
        """
        cached = self._quiet_cache.get(config_id)
        if cached is None:
            cached = [self.config]
            merges = self.server.restart.max_requests is None
            while cached[-1].t1 < self.horizon:
                last = cached[-1]
                nxt = self._make_config(last.t1)
                if nxt.attackers:
                    break
                self._quiet_configs[nxt.t0] = nxt
                if merges and (self.key_copies.legit_rates(nxt)
                               == self.key_copies.legit_rates(last)):
                    cached[-1] = last.reshaped(nxt.t1, ())
                else:
                    cached.append(nxt)
            self._quiet_cache[config_id] = cached
        return cached

    # -- the process --------------------------------------------------------------------------
    def _serve(self):  # noqa: ANN202 - SimPy generator
        """The server's one SimPy process: the configuration boundaries and the workers'
        events in time order, a boundary first on a tie.

        The workers are records, not processes of their own: each sleeps until its next
        event (a heap entry), a new configuration or an attack, and is stepped here. As a
        process each, a PSMail replication spent a sixth of its time in SimPy's wake-ups of
        workers that only had to redraw their next event."""
        env, due = self.env, self._due
        for state in self._states:
            self._step(state)
        boundaries = self._boundaries
        b = 0
        while True:
            while due and (due[0][2].pending is None or due[0][2].pending.seq != due[0][1]):
                heapq.heappop(due)
            boundary = boundaries[b] if b < len(boundaries) else self.horizon
            if due and due[0][0] < boundary:
                at, _, state = heapq.heappop(due)
                yield env.timeout(at - env.now)
                config_id = self._config_id
                self._fire(state)
                if self._config_id != config_id:
                    self._wake()
            elif boundary < self.horizon:
                yield env.timeout(boundary - env.now)
                b += 1
                was_quiet = not self.config.attackers
                self.reconfigure(boundary)
                self._wake(attack=was_quiet and bool(self.config.attackers))
            else:
                return

    def run(self) -> None:
        env = self.env
        self._states = [_Worker(w, self._new_life(w, 0.0), self._no_copies(), sched)
                        for w, sched in enumerate(self._restart_schedules())]
        for state in self._states:
            self._draw_target(state)
        env.process(self._serve())
        env.run(until=self.horizon)
        self._close(self.horizon)
        for life in (state.life for state in self._states):
            life.end = self.horizon
            self.lifetimes.append(life)
        if self.logins is not None:
            for life in self.lifetimes:
                life.logins = self.logins.inside(life.worker, life.start, life.end)
        if self.listed:
            # From a stream of their own (spawning draws nothing from ``rng``), so that how
            # many connections are listed does not shift the later draws: sweep points that
            # differ in an attack rate keep their common random numbers.
            sources = {name: a.sources for name, (a, _) in self.attackers.items()}
            self.obs.known_connections.extend(
                sample_listed(self.segments, self.lifetimes, sources, self.server.name,
                              self.rng.spawn(1)[0], self.server.restart.max_requests,
                              self.closes))

    def _restart_schedules(self) -> list[_Schedule]:
        """Each worker's scheduled restarts and the patch (:class:`_Schedule`)."""
        patched_at = self.server.patched_at
        schedules = []
        for times in workers_scheduled_restarts(self.server.restart, self.horizon, self.W,
                                                self.rng):
            patch = None
            if patched_at < self.horizon:
                # Before a tie: "patch" < "scheduled".
                patch = int(times.searchsorted(patched_at, side="left"))
                times = np.concatenate((times[:patch], [patched_at], times[patch:]))
            schedules.append(_Schedule(times, patch))
        return schedules

    def _new_life(self, w: int, start: float) -> WorkerLifetime:
        return WorkerLifetime(w, start, self.horizon, bool(self.rng.random() < self.server.keys.reachable))

    def _draw_target(self, state: _Worker, count: int = 0) -> None:
        """The ``max_requests``-th connection after a restart, ``count`` of them served."""
        n = self.server.restart.max_requests
        if n is not None:
            state.left = n - count
            state.target = float(self.rng.gamma(n - count))

    def _step(self, state: _Worker) -> None:
        """What a worker does from now in the current configuration until it must sleep:
        cross an attack-free stretch or an uneventful configuration in one go, or draw its
        next event (the earliest of the configuration's end, a scheduled restart, the
        ``max_requests``-th connection, a crash, a followed connection and a key capture, the
        first listed winning a tie)."""
        now, cfg, cid, rng = self.env.now, self.config, self._config_id, self.rng
        state.config_id, state.pending = cid, None
        if now >= self.horizon or state.life.start >= self.closes:
            state.waits = "never"  # the vulnerable window has closed (module docstring)
            return
        sched = state.sched
        if not cfg.attackers:
            for quiet in self._quiet_stretch(now, cid):
                self._jump(state, max(now, quiet.t0), quiet)
            state.waits = "never" if quiet.t1 >= self.horizon else "attack"
            return
        if self._uneventful(cid, cfg):
            self._cross([state], now, cfg, cid)
            return
        rates = self._rates(cid, cfg)
        conn_rate, crash_rate = rates.counted[state.life.key_reachable], rates.crash
        kind, delay = "bound", cfg.t1 - now
        if state.next_scheduled < sched.size and sched.time(state.next_scheduled) - now < delay:
            kind, delay = "scheduled", sched.time(state.next_scheduled) - now
        if self.logins is not None:
            kind, delay = self._counted_event(state, now, kind, delay, conn_rate)
        elif conn_rate > 0 and (state.target - state.used) / conn_rate < delay:
            kind, delay = "max_requests", (state.target - state.used) / conn_rate
        if crash_rate > 0:
            crash_in = rng.exponential(1.0 / crash_rate)
            if crash_in < delay:
                kind, delay = "crash", crash_in
        if rates.followed > 0:
            connection_in = rng.exponential(1.0 / rates.followed)
            if connection_in < delay:
                kind, delay = "connection", connection_in
        delay = max(0.0, delay)
        dyn = self._dynamics(cid, cfg, state.life.key_reachable)
        if dyn.can_capture and self.watched:
            if isinstance(dyn, CountDynamics):
                candidate_in = rng.exponential(1.0 / dyn.rate)
                if candidate_in < delay:
                    kind, delay = "candidate", candidate_in
            else:
                assert not isinstance(state.copies, int)
                t_key = capture_time(dyn, state.copies, delay, rng.random())
                if t_key is not None:
                    kind, delay = "key", t_key
        self._pushed += 1
        state.waits = "change"
        state.pending = _Pending(now + delay, self._pushed, kind, now, dyn, cfg, conn_rate, rates)
        if kind != "bound":  # the configuration's end comes as a new configuration
            heapq.heappush(self._due, (state.pending.at, self._pushed, state))

    def _counted_event(self, state: _Worker, now: float, kind: str, delay: float,
                       conn_rate: float) -> tuple[str, float]:
        """With the logins drawn: the ``max_requests``-th connection or the worker's next
        login, if either comes within ``delay`` (else ``kind`` and ``delay`` as they are). The
        connections other than the logins are counted by the time change of ``conn_rate``
        plus the session requests (:meth:`.login_timeline.LoginTimeline.crossing`)."""
        assert self.logins is not None
        own, k = self.logins.own[state.index], state.next_login
        login_in = float(own[k]) - now if k < own.size else math.inf
        hit = self.logins.crossing(now, now + min(delay, login_in), conn_rate,
                                   state.target - state.used)
        if hit is not None:
            return "max_requests", hit - now
        if login_in < delay:
            return "login", login_in
        return kind, delay

    def _fire(self, state: _Worker) -> None:
        """A worker's pending event, now: advance the worker to it, handle it, step on."""
        p = state.pending
        assert p is not None
        pre = self._advance(state, p.dyn, p.cfg, p.conn_rate, self.env.now - p.since)
        if p.kind == "key":
            self._key_capture(state, p.dyn, pre, p.cfg)
        elif p.kind == "candidate":
            self._candidate(state, p.dyn, pre)
        elif p.kind == "crash":
            self._crash(state, p.cfg, p.rates.crash_rates, pre)
        elif p.kind == "connection":
            self._followed_connection(state, p.cfg, p.rates.followed_rates, pre)
        elif p.kind == "max_requests":
            self._restart(state, "max_requests")
        elif p.kind == "login":
            state.next_login += 1
            self._count_known(state)
        else:
            cause = state.sched.cause(state.next_scheduled)
            state.next_scheduled += 1
            self._restart(state, cause)
        self._step(state)

    def _wake(self, attack: bool = False) -> None:
        """After a new configuration, in worker order, the workers step into it: one with a
        pending event is first advanced to now; one asleep after an attack-free stretch, which
        it crossed to the next attack, wakes only when that attack begins (``attack``). A
        worker that stepped in the new configuration already (the one whose event changed
        it) is left alone. Into an uneventful configuration they cross together
        (:meth:`_cross`)."""
        cid, now, cfg = self._config_id, self.env.now, self.config
        together = bool(cfg.attackers) and self._uneventful(cid, cfg)
        crossing: list[_Worker] = []
        for state in self._states:
            if state.config_id == cid or state.waits == "never" or (
                    state.waits == "attack" and not attack):
                continue
            p = state.pending
            if p is not None:
                self._advance(state, p.dyn, p.cfg, p.conn_rate, now - p.since)
            if together and state.life.start < self.closes:
                crossing.append(state)
            else:
                self._step(state)
        if crossing:
            self._cross(crossing, now, cfg, cid)

    def _uneventful(self, config_id: int, cfg: Segment) -> bool:
        """Whether nothing but scheduled restarts and crashes can happen in this configuration,
        whatever any worker holds: no key capture (by a connection or a crashing one), no
        followed connection and no ``max_requests`` count. It then lasts until its boundary,
        and each worker's restarts and crashes in it are drawn at once (:meth:`_cross`)."""
        cached = self._uneventful_cache.get(config_id)
        if cached is None:
            followed = any(a.followed for a in cfg.attackers)
            cached = self.server.restart.max_requests is None and not followed and not (
                self.watched and any(
                    self._dynamics(config_id, cfg, reachable).can_capture
                    or any(a.name in self.watched and a.heartbeats > 1 and a.c_key > 0
                           for a in cfg.attackers)
                    for reachable in (False, True)))
            self._uneventful_cache[config_id] = cached
        return cached

    def _dynamics(self, config_id: int, cfg: Segment, reachable: bool) -> Dynamics | CountDynamics:
        """The key chain's dynamics per configuration, looked up once per run: the chain keys
        them by rates, whose hash is not free."""
        key = (config_id, reachable)
        dyn = self._dynamics_cache.get(key)
        if dyn is None:
            if any(a.followed for a in cfg.attackers):  # their connections are events
                cfg = cfg.reshaped(cfg.t1, tuple(a for a in cfg.attackers if not a.followed))
            dyn = self.key_copies.dynamics(cfg, reachable, self.watched)
            self._dynamics_cache[key] = dyn
        return dyn

    def _rates(self, config_id: int, cfg: Segment) -> _Rates:
        """Per configuration, computed once for all workers (:class:`_Rates`)."""
        cached = self._rates_cache.get(config_id)
        if cached is None:
            drawn = [0.0 if a.followed else a.connection_rate for a in cfg.attackers]
            crash_rates = [r * crash_chance(cfg.crash_probability, a.heartbeats)
                           for r, a in zip(drawn, cfg.attackers)]
            followed = np.array([a.connection_rate if a.followed else 0.0
                                 for a in cfg.attackers])
            # With the logins drawn, the worker's own are events and the session requests
            # are counted by the time change given them (:meth:`_counted_event`); only the
            # other requests come at a constant rate.
            legit = cfg.requests if self.logins is None else self.logins.other
            drawn_apart: frozenset[str] = frozenset()
            if self._count is not None:
                moves = self._dynamics(config_id, cfg, False)
                assert isinstance(moves, CountDynamics)
                drawn_apart = frozenset(a.name for a in moves.candidates)

            def counted(near: int) -> float:
                return legit + sum((r - crash) * a.key_miss[near]
                                   for r, crash, a in zip(drawn, crash_rates, cfg.attackers)
                                   if a.name not in drawn_apart)

            cached = _Rates((counted(0), counted(1)), crash_rates, sum(crash_rates), followed,
                            float(followed.sum()))
            self._rates_cache[config_id] = cached
        return cached

    # -- worker state ----------------------------------------------------------------------
    def _no_copies(self) -> np.ndarray | int:
        if self._chain is None:
            return 0
        pi = np.zeros(self._chain.n)
        pi[0] = 1.0
        return pi

    def _evolve_legit(self, cfg: Segment, copies: np.ndarray | int, t: float) -> np.ndarray | int:
        """The copies after ``t`` seconds of legitimate traffic alone."""
        if self._chain is not None:
            assert not isinstance(copies, int)
            return self._chain.evolve_legit(cfg, copies, t)
        assert self._count is not None and isinstance(copies, int)
        return self._count.evolve(self._count.legit(cfg), copies, t, self._copies_rng)

    def _advance(self, state: _Worker, dyn: Dynamics | CountDynamics, cfg: Segment,
                 conn_rate: float, elapsed: float) -> np.ndarray | int:
        """Move a worker ``elapsed`` seconds on without an event: condition its chain on it
        (or, counted, draw its copies on)."""
        if elapsed <= 0:
            return state.copies
        state.used += conn_rate * elapsed
        if self.logins is not None:
            state.used += self.logins.session_requests(self.env.now - elapsed, self.env.now)
        if not self._carries_keys(self.env.now):
            return state.copies
        copies = state.copies
        if isinstance(dyn, CountDynamics):
            assert self._count is not None and isinstance(copies, int)
            state.copies = self._count.evolve(dyn, copies, elapsed, self._copies_rng)
            return state.copies
        assert not isinstance(copies, int)
        for name, kill in dyn.kill.items():
            self._hb_captures_expected[name] += float(copies @ kill) * elapsed
        pi = propagate(dyn.G, copies, elapsed, dyn.exponential)
        total = pi.sum()
        state.copies = pi / total if total > 0 else self._no_copies()
        return state.copies

    def _restart(
        self, state: _Worker, cause: EndCause, crash: CrashInfo | None = None,
        at: float | None = None,
    ) -> None:
        now = self.env.now if at is None else at
        life = state.life
        life.end, life.end_cause, life.crash = now, cause, crash
        self.lifetimes.append(life)
        self._begin(state, self._new_life(state.index, now))

    def _begin(self, state: _Worker, life: WorkerLifetime) -> None:
        """A restarted worker: empty memory, no connection counted."""
        state.life = life
        state.copies = self._no_copies()
        state.used = 0.0
        self._draw_target(state)

    def _scheduled_run(self, state: _Worker, i: int, j: int) -> None:
        """Scheduled restarts ``i`` to ``j - 1`` with nothing between them: :meth:`_restart`
        for each, the new lifetimes' key placements drawn at once (the very uniforms
        :meth:`_new_life` draws one at a time)."""
        sched = state.sched
        reachable = (self.rng.random(j - i) < self.server.keys.reachable).tolist()
        life = state.life
        for k, (t, near) in enumerate(zip(sched.between(i, j), reachable), start=i):
            life.end, life.end_cause = t, sched.cause(k)
            self.lifetimes.append(life)
            life = WorkerLifetime(state.index, t, self.horizon, near)
        self._begin(state, life)

    def _jump(self, state: _Worker, now: float, cfg: Segment) -> None:
        """Cross an attack-free stretch ``[now, cfg.t1)`` in one step.

        Nothing can be captured there, so only two things matter: when the current lifetime
        ends (it may have held secrets captured earlier) and the lifetime, restart count and
        key-copy state in force at the stretch's end.
        """
        if self.logins is not None:
            self._jump_counting_logins(state, now, cfg)
            return
        sched, end = state.sched, cfg.t1
        rate = cfg.requests
        n_max = self.server.restart.max_requests
        first_req = now + (state.target - state.used) / rate if rate > 0 else math.inf
        i = state.next_scheduled
        j = sched.first_from(end, i)
        first_sched = sched.time(i) if i < j else math.inf
        carried = self._carries_keys(now)
        if min(first_req, first_sched) >= end:
            if carried:
                state.copies = self._evolve_legit(cfg, state.copies, end - now)
            state.used += rate * (end - now)
            return
        cause: EndCause
        if first_req < first_sched:
            cause, first = "max_requests", first_req
        else:
            cause, first = sched.cause(i), first_sched
        life = state.life
        life.end, life.end_cause = first, cause
        self.lifetimes.append(life)
        base = sched.time(j - 1) if j > i else first
        state.next_scheduled = j
        start, count = base, 0
        if n_max is not None:
            last, count = max_requests_restarts(n_max, rate, base, end, self.rng)
            if last is not None:
                start = last
        state.life = self._new_life(state.index, start)
        if carried:
            state.copies = self._evolve_legit(cfg, self._no_copies(), end - start)
        state.used = 0.0
        self._draw_target(state, count)

    def _jump_counting_logins(self, state: _Worker, now: float, cfg: Segment) -> None:
        """:meth:`_jump` with the logins drawn: each ``max_requests`` restart of the stretch
        is found in turn, counting the worker's logins one by one (:meth:`_count_until`), since
        when the last one falls depends on every login before it. Only the first restart ends
        a lifetime that can hold anything, and only the last begins one that matters."""
        sched, end = state.sched, cfg.t1
        i, t = state.next_scheduled, now
        ended = False
        while True:
            stop = sched.time(i) if i < sched.size and sched.time(i) < end else end
            hit, known = self._count_until(state, t, stop)
            cause: EndCause
            if hit is not None:
                cause, t = "max_requests", hit
            elif stop < end:
                cause, t = sched.cause(i), stop
                i += 1
            else:
                break
            if not ended:
                life = state.life
                life.end, life.end_cause, life.last_known = t, cause, known
                self.lifetimes.append(life)
                ended = True
            state.used = 0.0
            self._draw_target(state)
        state.next_scheduled = i
        carried = self._carries_keys(now)
        if ended:
            state.life = self._new_life(state.index, t)
            if carried:
                state.copies = self._evolve_legit(cfg, self._no_copies(), end - t)
        elif carried:
            state.copies = self._evolve_legit(cfg, state.copies, end - now)

    def _count_until(self, state: _Worker, t0: float, t1: float) -> tuple[float | None, bool]:
        """Count a worker's legitimate requests on an attack-free ``[t0, t1)``: the time of
        its ``max_requests``-th, if it comes first, and whether that one was a login (known
        one by one, so the restart follows it); else None, the count carried to ``t1``.

        The first logins are counted one by one, then in batches (:meth:`_count_logins`):
        a quiet stretch of a busy server can hold hundreds of thousands before a restart, and
        one by one in Python they cost seconds, but most restarts come a few logins apart,
        where a batch's numpy calls cost more than the loop."""
        logins = self.logins
        assert logins is not None
        own = logins.own[state.index]
        last = int(own.searchsorted(t1, side="left"))
        for k in range(state.next_login, min(last, state.next_login + _ONE_BY_ONE)):
            login = float(own[k])
            hit = self._count_between(state, t0, login)
            if hit is not None:
                return hit, False
            state.next_login, t0 = k + 1, login
            if self._served_known(state):
                return math.nextafter(login, math.inf), True
        size = _FIRST_BATCH
        while state.next_login < last:
            batch = own[state.next_login:min(last, state.next_login + size)]
            found = self._count_logins(state, t0, batch)
            if found is not None:
                return found
            t0, size = float(batch[-1]), min(4 * size, _LAST_BATCH)
        return self._count_between(state, t0, t1), False

    def _count_between(self, state: _Worker, t0: float, t1: float) -> float | None:
        """The requests on ``[t0, t1)`` other than the worker's logins counted: where the
        ``max_requests``-th comes among them, or None with them added to ``state.used``."""
        logins = self.logins
        assert logins is not None
        hit = logins.crossing(t0, t1, logins.other, state.target - state.used)
        if hit is not None:
            state.used = state.target
            return hit
        state.used += logins.requests(t0, t1)
        return None

    def _count_logins(self, state: _Worker, t0: float, batch: np.ndarray
                      ) -> tuple[float, bool] | None:
        """:meth:`_count_until` across ``batch``, the worker's next logins from ``t0`` on:
        where the ``max_requests``-th request came (the state left there), or None with all
        of them counted.

        It gives the floats that counting login by login would, from the same draws: the
        requests between logins (:meth:`.login_timeline.LoginTimeline.requests_between`) and
        the targets (:meth:`_served_known`, one uniform per login that leaves some to count)
        are accumulated in the same order, and the generator is wound back to the uniforms
        used. An interval the sums say could hold the restart is settled by the same
        :meth:`.login_timeline.LoginTimeline.crossing` as one by one."""
        logins, rng = self.logins, self.rng
        assert logins is not None and self.server.restart.max_requests is not None
        left = state.left - 1 - np.arange(batch.size)
        drawn = int(np.count_nonzero(left > 0))
        batch, left = batch[:drawn + 1], left[:drawn + 1]  # the (drawn+1)-th would be the last
        begins = np.concatenate(([t0], batch[:-1]))
        gained = logins.requests_between(begins, batch)
        used = np.add.accumulate(np.concatenate(([state.used], gained)))
        saved = rng.bit_generator.state
        factors = [u ** (1.0 / k) for u, k in zip(rng.random(drawn).tolist(),
                                                   left[:drawn].tolist())]
        targets = np.multiply.accumulate(
            np.concatenate(([state.target], factors, [1.0] * (batch.size - drawn))))
        n = batch.size
        at_login = np.flatnonzero((left <= 0) | (targets[1:] <= used[1:]))
        stop = int(at_login[0]) if at_login.size else n
        counted = min(stop + 1, n)  # the intervals before logins up to the one that restarts
        # 1e-9 of slack: the crossing's own sums decide an interval near its boundary
        near = np.flatnonzero(used[1:counted + 1] * (1.0 + 1e-9) >= targets[:counted])
        for j in near.tolist():
            hit = logins.crossing(float(begins[j]), float(batch[j]), logins.other,
                                  float(targets[j] - used[j]))
            if hit is not None:
                self._keep_uniforms(saved, min(j, drawn))
                state.next_login += j
                state.used = state.target = float(targets[j])
                state.left -= j
                return hit, False
        self._keep_uniforms(saved, min(counted, drawn))
        state.next_login += counted
        state.used, state.target = float(used[counted]), float(targets[counted])
        state.left = int(left[counted - 1])
        if stop < n:
            return math.nextafter(float(batch[stop]), math.inf), True
        return None

    def _keep_uniforms(self, saved: Mapping[str, Any], count: int) -> None:
        """Wind the generator back to ``saved`` and draw the first ``count`` uniforms again:
        those a batch drew past its restart are left for what comes next, as one by one."""
        self.rng.bit_generator.state = saved
        self.rng.random(count)

    def _cross(self, states: list[_Worker], now: float, cfg: Segment, config_id: int) -> None:
        """Cross an uneventful configuration (:meth:`_uneventful`) ``[now, cfg.t1)`` in one step,
        every worker of ``states`` at once.

        Its crashes are a Poisson process of constant rate whatever a worker holds, and its
        scheduled restarts are known, so every lifetime in it is drawn at once; the key-copy
        state then only has to be carried from each worker's last restart to the boundary, the
        workers of one key placement in one product (per worker, the numpy calls cost more
        than their arithmetic: 7% of a PSMail replication).
        """
        end, rng = cfg.t1, self.rng
        rates = self._rates(config_id, cfg)
        crash_rates, crash_rate = rates.crash_rates, rates.crash
        counts = (rng.poisson(crash_rate * (end - now), size=len(states)).tolist()
                  if crash_rate > 0.0 else [0] * len(states))
        lengths = []
        for state, count in zip(states, counts):
            sched = state.sched
            i = state.next_scheduled
            j = sched.first_from(end, i)
            if now >= self.closes:
                j = min(j, i + 1)  # the one restart that still matters (module docstring)
            start = now
            if count:
                ends: list[tuple[float, int]] = list(zip(sched.between(i, j), range(i, j)))
                ends += [(float(t), -1) for t in now + rng.random(count) * (end - now)]
                ends.sort()
                for t, k in ends:
                    if k < 0:
                        a, crashing, source = self._crashing_connection(cfg, crash_rates)
                        self._restart(state, "crash", self._log_crash(a, crashing, source, t),
                                      at=t)
                    else:
                        self._restart(state, sched.cause(k), at=t)
                start = ends[-1][0]
            elif j > i:
                self._scheduled_run(state, i, j)
                start = sched.time(j - 1)
            state.next_scheduled = j
            state.config_id, state.pending = config_id, None
            state.waits = "never" if end >= self.horizon else "change"
            lengths.append(end - start)
        if not self._carries_keys(now):
            return
        if self._count is not None:
            for state, length in zip(states, lengths):
                moves = self._dynamics(config_id, cfg, state.life.key_reachable)
                assert isinstance(moves, CountDynamics) and isinstance(state.copies, int)
                state.copies = self._count.evolve(moves, state.copies, length, self._copies_rng)
            return
        for reachable in (False, True):
            rows = [k for k, state in enumerate(states) if state.life.key_reachable == reachable]
            if not rows:
                continue
            dyn = self._dynamics(config_id, cfg, reachable)
            assert isinstance(dyn, Dynamics)
            pis = propagate_rows(dyn.G, np.array([states[k].copies for k in rows]),
                                 np.array([lengths[k] for k in rows]), dyn.exponential)
            pis /= pis.sum(axis=1, keepdims=True)
            for k, pi in zip(rows, pis):
                states[k].copies = pi

    # -- events ----------------------------------------------------------------------------
    def _key_capture(self, state: _Worker, dyn: Dynamics | CountDynamics, pre: np.ndarray | int,
                     cfg: Segment) -> None:
        assert isinstance(dyn, Dynamics) and not isinstance(pre, int)
        names = list(dyn.kill)
        weights = np.array([float(pre @ dyn.kill[n]) for n in names])
        name = names[pick(self.rng, weights)]
        after = pre @ dyn.capture_moves[name]
        after = after / after.sum()
        copies = pick(self.rng, after)
        rates = next(a for a in cfg.attackers if a.name == name)
        heartbeat = self._first_capturing_heartbeat(rates, state.life.key_reachable, copies)
        stops = self.attackers[name][0].stops_at_key
        read = heartbeat if stops else rates.heartbeats
        source = int(self.rng.integers(self.attackers[name][0].sources))
        self._key_read(state, name, copies, heartbeat, read, source)
        self._count_known(state)

    def _key_read(
        self, state: _Worker, name: str, copies: int, heartbeat: int, read: int, source: int
    ) -> None:
        """A connection of ``name`` that took the key at ``heartbeat`` and read ``read``
        heartbeats in all, leaving ``copies`` copies; the worker lives on."""
        now = self.env.now
        if self._chain is None:
            state.copies = copies
        else:
            post = np.zeros(self._chain.n)
            post[copies] = 1.0
            state.copies = post
        state.life.key_captures.append(KeyCapture(now, name, read))
        self.obs.known_connections.append(
            Connection(now, name, self.server.name, source, read, read))
        self._record_key(name, heartbeat)

    def _first_capturing_heartbeat(
        self, a: AttackerRates, reachable: bool, copies: int, heartbeats: int | None = None
    ) -> int:
        """Index of the first capturing heartbeat of a connection known to capture within its
        first ``heartbeats`` (all of them by default)."""
        heartbeats = a.heartbeats if heartbeats is None else heartbeats
        pieces = 2 * int(reachable) + copies
        h = any_of(pieces, a.c_key)
        if h >= 1.0 or heartbeats == 1:
            return 1
        j = np.arange(1, heartbeats + 1)
        p = (1.0 - h) ** (j - 1) * h
        return 1 + pick(self.rng, p)

    def _crashing_connection(
        self, cfg: Segment, crash_rates: list[float]
    ) -> tuple[AttackerRates, int, int]:
        """Whose connection is the crashing one, at which heartbeat it crashes, from which
        source."""
        rng = self.rng
        a = cfg.attackers[pick(rng, np.array(crash_rates))]
        p = cfg.crash_probability
        j = np.arange(1, a.heartbeats + 1)
        crashing = 1 + pick(rng, (1.0 - p) ** (j - 1) * p)
        source = int(rng.integers(self.attackers[a.name][0].sources))
        return a, crashing, source

    def _log_crash(self, a: AttackerRates, crashing: int, source: int, now: float) -> CrashInfo:
        self.obs.crashes.append(Crash(now, a.name, self.server.name, source, crashing, crashing - 1))
        return CrashInfo(a.name, crashing - 1, source)

    def _crash_read(self, state: _Worker, a: AttackerRates, pre: np.ndarray | int,
                    answered: int) -> int | None:
        """Whether the ``answered`` heartbeats before a crash take the key (after the
        connection's key operations): the copies resident then, or None."""
        reachable = state.life.key_reachable
        if isinstance(pre, int):
            n, took = self._counted_read(a, reachable, pre, answered)
            return n if took else None
        assert self._chain is not None
        after_ops = self._chain.after_key_ops(a, pre)
        q = self._chain.capture_probability(a, reachable, answered)
        if self.rng.random() < float(after_ops @ q):
            return pick(self.rng, after_ops * q)
        return None

    def _counted_read(self, a: AttackerRates, reachable: bool, n: int,
                      answered: int) -> tuple[int, bool]:
        """A connection of ``a`` to a worker holding ``n`` drawn copies: its key operations,
        then whether its ``answered`` heartbeats take the key (:mod:`.key_count`). The copies
        after its operations, and whether they did."""
        assert self._count is not None
        n = self._count.after_key_ops(a, n, self._copies_rng)
        return n, self.rng.random() < self._count.capture_chance(a, reachable, answered, n)

    def _candidate(self, state: _Worker, dyn: Dynamics | CountDynamics, n: np.ndarray | int) -> None:
        """A connection of an attacker watching the key, where the copies are drawn
        (:mod:`.key_count`): it takes the key with the chance its heartbeats have at the
        drawn count, the thinning that makes its time exact; else it is one of the ordinary
        connections the phases and hazards count (their ``key_miss``)."""
        assert isinstance(dyn, CountDynamics) and isinstance(n, int)
        a = dyn.candidates[pick(self.rng, dyn.rates)]
        reachable = state.life.key_reachable
        n, took = self._counted_read(a, reachable, n, a.heartbeats)
        self._hb_captures_expected[a.name] += KeyCount.capture_chance(
            a, reachable, a.heartbeats, n)
        state.copies = n
        if took:
            heartbeat = self._first_capturing_heartbeat(a, reachable, n)
            attacker = self.attackers[a.name][0]
            read = heartbeat if attacker.stops_at_key else a.heartbeats
            self._key_read(state, a.name, n, heartbeat, read,
                           int(self.rng.integers(attacker.sources)))
        self._count_known(state)

    def _crash(self, state: _Worker, cfg: Segment, crash_rates: list[float],
               pre: np.ndarray | int) -> None:
        """A connection whose heartbeat ``crashing`` would crash the worker; the heartbeats
        before it may take the key. An attacker that stops at the key (rule 8) then sends no
        further heartbeat, so the connection is a key capture and the worker lives on; any
        other attacker goes on to the crash."""
        now = self.env.now
        a, crashing, source = self._crashing_connection(cfg, crash_rates)
        if a.name in self.watched and crashing > 1:
            copies = self._crash_read(state, a, pre, crashing - 1)
            if copies is not None:
                heartbeat = self._first_capturing_heartbeat(
                    a, state.life.key_reachable, copies, crashing - 1)
                if self.attackers[a.name][0].stops_at_key:
                    # It stopped before the heartbeat that would crash: a connection served.
                    self._key_read(state, a.name, copies, heartbeat, heartbeat, source)
                    self._count_known(state)
                    return
                self._record_key(a.name, heartbeat)
        self._restart(state, "crash", self._log_crash(a, crashing, source, now))

    def _followed_connection(
        self, state: _Worker, cfg: Segment, followed_rates: np.ndarray, pre: np.ndarray | int
    ) -> None:
        """One connection of a followed attacker, all of it drawn here (``model.md`` rules 5
        to 7, the reference engine's order): its key operations, the first heartbeat that
        would crash the worker, whether the heartbeats answered before it capture the key.
        A connection that takes nothing conditions the worker's key copies on having missed
        (Bayes' rule), which is what the stationary ``key_miss`` of the integrated attackers
        leaves out (``docs/fast-engine.md``, item 7); drawn copies (:mod:`.key_count`) are
        simply what they are."""
        rng, now = self.rng, self.env.now
        a = cfg.attackers[pick(rng, followed_rates)]
        attacker = self.attackers[a.name][0]
        source = int(rng.integers(attacker.sources))
        p = cfg.crash_probability
        crashing = int(rng.geometric(p)) if p > 0 else a.heartbeats + 1
        answered = min(crashing - 1, a.heartbeats)
        reachable = state.life.key_reachable
        after: np.ndarray | int
        if isinstance(pre, int):
            after, took = self._counted_read(a, reachable, pre, answered)
        else:
            assert self._chain is not None
            after_ops = self._chain.after_key_ops(a, pre)
            q = self._chain.capture_probability(a, reachable, answered)
            miss = after_ops * (1.0 - q)
            u, total, kept = rng.random(), float(after_ops.sum()), float(miss.sum())
            took = kept < total and u * total >= kept
            # kept > 0 where it did not: a connection with no chance misses surely
            after = miss / kept if not took else after_ops
        crashes = crashing <= a.heartbeats
        if took:
            copies = after if isinstance(after, int) else pick(rng, after * q)
            heartbeat = self._first_capturing_heartbeat(a, reachable, copies, answered)
            self._hb_captures_expected[a.name] += 1.0  # the capturing connection itself
            if attacker.stops_at_key or not crashes:
                read = heartbeat if attacker.stops_at_key else answered
                self._key_read(state, a.name, copies, heartbeat, read, source)
                self._count_known(state)
                return
            self._record_key(a.name, heartbeat)
        if crashes:
            self._restart(state, "crash", self._log_crash(a, crashing, source, now))
            return
        state.copies = after
        state.life.listed.append(ListedConnection(now, a.name, a.heartbeats))
        self.obs.known_connections.append(
            Connection(now, a.name, self.server.name, source, a.heartbeats, a.heartbeats))
        self._count_known(state)

    def _count_known(self, state: _Worker) -> None:
        """A connection known one by one served (a followed attacker's or, with the logins
        drawn, one of the worker's logins): it counts toward ``max_requests`` (the restart
        follows the ``max_requests``-th once it is served, as in the reference engine).

        The other connections are counted by a random time change: their arrivals are a
        unit Poisson process in ``used``, and the restart comes at the ``left``-th, drawn as
        ``target``. One more connection known makes it the ``(left - 1)``-th, which given the
        ``left``-th at ``target`` is ``target * U^(1 / (left - 1))`` (the earlier arrivals are
        uniform below it); if that is already behind ``used``, this connection was the last.

        The restart then comes the next representable instant after the connection, so that
        what it read lies inside the lifetime it read (every reader of a lifetime counts reads
        strictly inside it)."""
        if self._served_known(state):
            state.life.last_known = True
            self._restart(state, "max_requests", at=math.nextafter(self.env.now, math.inf))

    def _served_known(self, state: _Worker) -> bool:
        """Count one known connection (:meth:`_count_known`); whether it was the
        ``max_requests``-th."""
        if self.server.restart.max_requests is None:
            return False
        state.left -= 1
        if state.left > 0:
            state.target *= self.rng.random() ** (1.0 / state.left)
        return state.left <= 0 or state.target <= state.used

    def _heartbeats_before(self, name: str) -> int:
        """Heartbeats ``name`` sent to this server before now, capturing connections excluded.

        Given the first capture, the non-capturing connections before it are Poisson with the
        connection rate less the (filtered) capture hazard; integrating that hazard with the
        chain's conditioned distribution is exact when the hazard is constant and a close
        approximation otherwise.
        """
        k = self.attackers[name][0].heartbeats_per_connection
        open_rate = sum(a.connection_rate for a in self.config.attackers if a.name == name)
        connections = self._hb_connections[name] + open_rate * self.W * (self.env.now - self.config.t0)
        mean = max(0.0, connections - self._hb_captures_expected[name]) * k
        if mean > POISSON_EXACT_LIMIT:
            # Far past what a float can count exactly; the Poisson spread is below a
            # millionth of the mean here, and numpy's sampler stops near 9e18.
            return int(round(mean))
        return int(self.rng.poisson(mean))

    def _record_key(self, name: str, heartbeat: int) -> None:
        now = self.env.now
        attacker = self.attackers[name][0]
        own = self.keys.own[name]
        own.key, own.key_time = 1, now
        own.key_heartbeats = self._heartbeats_before(name) + heartbeat
        if not attacker.benign and self.keys.total.key == 0:
            total = self.keys.total
            total.key, total.key_time = 1, now
            others = sum(
                self._heartbeats_before(other)
                for other, (a, _) in self.attackers.items()
                if other != name and not a.benign
            )
            total.key_heartbeats = own.key_heartbeats + others
        self.watched = self.watched - {name}
        self._watch_ends = self._last_key_chance()
        if attacker.stops_at_key:
            self.stopped.add(name)
        self.reconfigure(now)

