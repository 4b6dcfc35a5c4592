"""The report's sentences on how a ``--precision`` run sampled (``sim.report.sampling``)."""

from __future__ import annotations

from sim.report.sampling import SHOWN, sentences


def _sampling(counts: list[int]) -> dict[str, object]:
    names = [f"a{i}" for i in range(len(counts))]
    return {
        "stratified_on": names,
        "strata": [{"present": [n], "probability": 0.1, "replications": c}
                   for n, c in zip(names, counts)],
        "precision": {"target": 0.05, "stopped": "precision", "rounds": 3,
                      "max_replications": 1000, "estimates": {}},
    }


def test_few_strata_are_named_in_order() -> None:
    said = sentences(_sampling([10, 30, 20]))[0]
    assert said.endswith("(replications per stratum: a0: 10, a1: 30, a2: 20).")


def test_many_strata_are_named_largest_first_and_the_rest_counted() -> None:
    counts = [10, 500, 20, 10] + [100 + i for i in range(SHOWN)]
    said = sentences(_sampling(counts))[0]
    largest = ", ".join(f"a{4 + i}: {100 + i}" for i in reversed(range(1, SHOWN)))
    assert f"(replications per stratum, largest first: a1: 500, {largest}; 4 more with 10 to " \
           "100 each)." in said
