import numpy as np
import pytest

from hubscout.identification.specs import GeneratorSpecification


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@pytest.fixture
def synthetic_specs():
    """Three generators, four prompts, D=16: each generator adds its own style direction to a
    prompt's content direction; images scatter around that point."""
    rng = np.random.default_rng(0)
    content = rng.normal(size=(4, 16))
    style = rng.normal(size=(3, 16)) * 0.8
    texts = unit(content + rng.normal(0, 0.1, content.shape))

    def images(g, prompts, n, seed):
        noise = np.random.default_rng(seed).normal(0, 0.15, (len(prompts), n, 16))
        return unit(content[prompts][:, None] + style[g] + noise)

    specs = {
        f"gen-{g}": GeneratorSpecification(
            f"gen-{g}", tuple(f"prompt {p}" for p in range(4)), images(g, [0, 1, 2, 3], 6, g),
            texts, f"v{g}", {"generator_hash": f"h{g}"}, 0.0,
        )
        for g in range(3)
    }  # fmt: skip
    return specs, images, texts
