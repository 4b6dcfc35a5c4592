"""Invariants of literal alert counting over arbitrary connection lists (hypothesis)."""

from __future__ import annotations

import numpy as np
from evidence_builders import attacker, detector, scenario
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model.record import Connection, Observations
from sim.model.detectors import evaluate

connections = st.lists(
    st.builds(
        Connection,
        time=st.floats(0.0, 99.0),
        attacker=st.just("eve"),
        server=st.sampled_from(["mail", "vpn"]),
        source=st.integers(0, 2),
        heartbeats_sent=st.integers(1, 4),
        heartbeats_answered=st.integers(0, 4),
    ),
    max_size=40,
)


def counts(conns: list[Connection], **kw: object) -> tuple[int, int]:
    sc = scenario(
        [attacker(targets=("mail", "vpn"), sources=3)],
        [detector("d", servers=("mail", "vpn"), **kw)],  # type: ignore[arg-type]
        servers=("mail", "vpn"),
        horizon=100.0,
    )
    c = evaluate(sc, Observations(connections=conns), np.random.default_rng(0)).counts("d", "eve")
    return c.raised, c.retained


@settings(max_examples=60, deadline=None)
@given(conns=connections, threshold=st.integers(1, 8), width=st.floats(0.5, 50.0),
       retention=st.floats(0.0, 120.0))
def test_windowed_counts_are_monotone_and_bounded(
    conns: list[Connection], threshold: int, width: float, retention: float
) -> None:
    raised, retained = counts(conns, kind="rate", count="heartbeats", threshold=threshold,
                              window=width, retention=retention)
    assert 0 <= retained <= raised
    assert raised <= sum(c.heartbeats_sent for c in conns) // threshold
    higher, _ = counts(conns, kind="rate", count="heartbeats", threshold=threshold + 1,
                       window=width, retention=retention)
    assert higher <= raised
    forever, kept_forever = counts(conns, kind="rate", count="heartbeats", threshold=threshold,
                                   window=width)
    assert forever == kept_forever == raised


@settings(max_examples=60, deadline=None)
@given(conns=connections, deployed=st.floats(0.0, 100.0))
def test_every_heartbeat_from_deployment_is_one_signature_alert(
    conns: list[Connection], deployed: float
) -> None:
    raised, retained = counts(conns, kind="signature", deployed_at=deployed)
    assert raised == retained == sum(c.heartbeats_sent for c in conns if c.time >= deployed)
