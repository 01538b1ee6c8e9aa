import numpy as np
import pytest
import torch

from hubscout.pathway.model import (
    PathwayNetwork,
    predict,
    predict_with_features,
    router_input,
    train_pathway,
)


def test_the_router_reads_box_averaged_pixels():
    images = np.zeros((1, 16, 16, 3), np.uint8)
    images[0, :2, :2, 0] = 255  # one 2 x 2 block of the 8 x 8 grid is red
    images[0, :, :, 2] = 51
    features = router_input(images)
    assert features.shape == (1, 192) and features.dtype == np.float32
    red, blue = features[0, :64].reshape(8, 8), features[0, 128:].reshape(8, 8)
    assert red[0, 0] == pytest.approx(1.0) and red.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(blue, 0.2, atol=1e-6)


def test_gates_keep_the_softmax_of_the_k_largest_logits():
    network = PathwayNetwork([3, 3, 3, 3], n_classes=2, k=2)
    torch.nn.init.zeros_(network.router[2].weight)
    with torch.no_grad():
        network.router[2].bias.copy_(torch.tensor([0.0, 2.0, 1.0, -1.0]))
    gates = network.gates(torch.zeros(5, 192))
    softmax = torch.tensor([0.0, 2.0, 1.0, -1.0]).softmax(0)
    expected = torch.tensor([0.0, softmax[1], softmax[2], 0.0]).expand(5, 4)
    torch.testing.assert_close(gates, expected)


def test_prediction_runs_only_the_models_each_input_is_routed_to():
    network = PathwayNetwork([2, 2, 2], n_classes=3, k=1)
    torch.nn.init.zeros_(network.router[2].weight)
    with torch.no_grad():
        network.router[2].weight[0, :] = 0.0
        network.router[2].bias.copy_(torch.tensor([0.0, 0.0, 0.0]))
        network.router[0].weight.zero_()
        network.router[0].bias.zero_()
    router = np.zeros((6, 192), np.float32)
    with (
        torch.no_grad()
    ):  # the router's first hidden unit reads pixel 0; model 2 wins when it is on
        network.router[0].weight[0, 0] = 1.0
        network.router[2].weight[2, 0] = 10.0
    router[3:, 0] = 5.0
    features = [np.random.default_rng(m).normal(size=(6, 2)) for m in range(3)]
    calls = []

    def features_of(m: int, rows: np.ndarray) -> np.ndarray:
        calls.append((m, rows.tolist()))
        return features[m][rows]

    probabilities, gates = predict(network, router, features_of)
    assert sorted(calls) == [(0, [0, 1, 2]), (2, [3, 4, 5])]  # 6 inputs, 6 model runs
    assert (gates > 0).sum(axis=1).tolist() == [1] * 6
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    same, _ = predict_with_features(network, router, features)
    np.testing.assert_array_equal(probabilities, same)


def test_training_learns_to_route_each_input_to_the_model_that_knows_it(routed_task):
    training = train_pathway(routed_task.split("train"), routed_task.split("val"), n_classes=4, k=1)
    features, labels, router = routed_task.split("test")
    probabilities, gates = predict_with_features(training.network, router, features)
    accuracy = float(np.mean(probabilities.argmax(1) == labels))
    # one model alone can reach 0.75 at most (sure on its half, a coin flip on the other);
    # routed right, each half is told apart at ~0.98 (a 4-sigma gap)
    assert accuracy > 0.8
    low, high = routed_task.models.index("low"), routed_task.models.index("high")
    assert (gates[labels < 2, low] > 0).mean() > 0.75
    assert (gates[labels >= 2, high] > 0).mean() > 0.75
    assert training.epochs % 10 == 0 and 0 < training.epochs <= 300
    with pytest.raises(ValueError, match="k must be between 1 and the 3 models"):
        train_pathway(routed_task.split("train"), routed_task.split("val"), 4, k=4)
