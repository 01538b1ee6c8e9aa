import torch

from hubscout.models.flow_matching import ConditionalFlow, FlowConfig


def _flow(**config: float) -> ConditionalFlow:
    torch.manual_seed(0)
    return ConditionalFlow(FlowConfig(width=8, embedding_dim=16, **config), 4).eval()


def test_a_zero_velocity_leaves_the_starting_noise():
    flow = _flow(sampling_steps=3)
    torch.nn.init.zeros_(flow.out.weight)
    torch.nn.init.zeros_(flow.out.bias)
    with torch.inference_mode():
        images = flow.sample(torch.eye(4)[:2], torch.Generator().manual_seed(2))
    noise = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    assert torch.equal(images, ((noise + 1) / 2).clamp(0, 1))


def test_euler_steps_with_guidance_follow_a_constant_velocity():
    # out's bias alone: v = b for every input, so guidance changes nothing and x_1 = z + b
    flow = _flow(sampling_steps=4, guidance=3.0)
    torch.nn.init.zeros_(flow.out.weight)
    with torch.no_grad():
        flow.out.bias.copy_(torch.tensor([0.5, -0.25, 1.0]))
    with torch.inference_mode():
        images = flow.sample(torch.eye(4)[:1], torch.Generator().manual_seed(3))
    noise = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    expected = ((noise + flow.out.bias.view(1, 3, 1, 1) + 1) / 2).clamp(0, 1)
    torch.testing.assert_close(images, expected)


def test_the_velocity_depends_on_the_condition_and_the_time():
    flow = _flow()
    x = torch.randn(2, 3, 32, 32)
    with torch.inference_mode():
        a = flow(x, torch.tensor([0.2, 0.2]), torch.eye(4)[:2])
        b = flow(x, torch.tensor([0.2, 0.2]), torch.eye(4)[2:])
        c = flow(x, torch.tensor([0.7, 0.7]), torch.eye(4)[:2])
    assert a.shape == (2, 3, 32, 32)
    assert not torch.allclose(a, b) and not torch.allclose(a, c)


def test_the_condition_maps_carry_the_prompt_where_film_carries_none():
    flow = _flow()
    with torch.no_grad():
        flow.condition.weight.zero_()  # the prompt no longer reaches any block's FiLM
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([0.4, 0.4])
    with torch.inference_mode():
        mapped = flow(x, t, torch.eye(4)[:2]) - flow(x, t, torch.eye(4)[2:])
        torch.nn.init.zeros_(flow.half_map.weight)
        torch.nn.init.zeros_(flow.quarter_map.weight)
        unmapped = flow(x, t, torch.eye(4)[:2]) - flow(x, t, torch.eye(4)[2:])
    assert mapped.abs().max() > 1e-3
    assert torch.equal(unmapped, torch.zeros_like(unmapped))
