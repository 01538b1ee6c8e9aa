import numpy as np

from hubscout.pathway.benchmark import compare


def test_every_baseline_is_scored_with_its_cost(routed_task):
    result = compare(routed_task, selected=["low", "unknown-model"], k=1)
    table = {row["method"]: row for row in result.table.to_dicts()}
    assert list(table) == [
        "best_single", "uniform_ensemble", "selection_ensemble", "logme_top1", "pathway_k1",
    ]  # fmt: skip
    assert [row["models_per_input"] for row in table.values()] == [1.0, 3.0, 1.0, 1.0, 1.0]
    assert table["selection_ensemble"]["models"] == "low"  # a name the hub lacks is ignored
    # one model knows half the classes: sure there, a coin flip between the other two
    assert 0.65 < table["best_single"]["accuracy"] < 0.8
    assert table["best_single"]["models"] in ("low", "high")
    assert table["pathway_k1"]["accuracy"] > table["best_single"]["accuracy"] + 0.05
    assert set(result.usage) == {"high", "low", "noise"}
    assert sum(result.usage.values()) == 1.0  # k = 1: every input runs one model
    labels = routed_task.labels["test"]
    assert np.isclose(result.usage["low"], np.mean(labels < 2), atol=0.1)
