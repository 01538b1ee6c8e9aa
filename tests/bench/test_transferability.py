"""The transferability benchmark's smoke run: every metric timed alone and in the suite on a
small problem, with the same value both ways."""

import math

from bench.transferability import main
from hubscout.transferability.suite import METRICS


def test_smoke_run_scores_every_metric_alone_and_in_the_suite_alike():
    results = main(n=120, d=16, c=4)
    assert list(results) == list(METRICS)
    for name, (alone, in_suite, alone_value, value) in results.items():
        assert alone > 0 and in_suite > 0 and math.isfinite(value), name
        # what the suite reuses (decompositions) must not change what a metric scores
        assert math.isclose(alone_value, value, rel_tol=1e-9, abs_tol=1e-12), name
