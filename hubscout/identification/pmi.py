"""Prompt-matching identification of generators from example images (after CGI's PMI).

For generator g with spec images y_{p,j} per spec prompt p, and example embeddings x_i:
  w_p   = softmax_p(r_p / tau): r_p = mean_{i,j} cos(x_i, y_{g,p,j}) (how much g's images
          for prompt p look like the examples), or r_p = cos(u, t_p) with the prompt's text
          embedding t_p when the user gives a prompt u (each with its temperature tau);
  S(g)  = sum_p w_p * mean_{i,j} k(x_i, y_{g,p,j}),  k(x, y) = exp((cos(x, y) - 1) / h),
a Gaussian kernel on unit vectors; generators are ranked by log S(g). The matched prompts
are the heaviest w_p. Baselines: the cosine between the examples' mean and each generator's
mean embedding, and random.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from hubscout.identification.specs import GeneratorSpecification

MATCHED_PROMPTS = 3


@dataclass(frozen=True)
class PMIParameters:
    """The temperatures of the prompt weights and the kernel bandwidth h.

    The defaults are where every candidate reference encoder and style weight is compared
    before the stage tunes its own (reports/identification.json "tuning"): the stage's
    choice on 16 tuning prompts of an earlier hub, with the VLM alone as the descriptor
    (mean top-1 over k of 0.893 without a prompt, 0.906 with one, inside a 6 x 5 grid)."""

    image_temperature: float = 0.02
    text_temperature: float = 0.002
    bandwidth: float = 0.001


PMI_DEFAULTS = PMIParameters()


@dataclass(frozen=True)
class Identification:
    """One generator's score log S(g) and the spec prompts that matched the examples best."""

    generator: str
    score: float  # log S(g): S itself underflows to 0 for examples unlike every spec image
    matched_prompts: tuple[str, ...]


def prompt_weights(
    cosine: np.ndarray,
    spec: GeneratorSpecification,
    prompt: np.ndarray | None,
    parameters: PMIParameters = PMI_DEFAULTS,
) -> np.ndarray:
    """w_p over the spec's prompts [P] (float64) from the example-image cosines [P, k, m]."""
    if prompt is None:
        relevance, temperature = cosine.mean(axis=(1, 2)), parameters.image_temperature
    else:
        relevance = spec.prompt_embeddings.astype(np.float64) @ prompt
        temperature = parameters.text_temperature
    weights = np.exp((relevance - relevance.max()) / temperature)
    return weights / weights.sum()


def generator_score(
    spec: GeneratorSpecification,
    examples: np.ndarray,
    prompt: np.ndarray | None = None,
    parameters: PMIParameters = PMI_DEFAULTS,
) -> tuple[float, np.ndarray]:
    """log S(g) and the prompt weights for unit example embeddings [k, D]. Computed in logs:
    with h = 0.001 the kernel of a cosine under 0.26 is below double precision, and S would
    tie at 0 for every generator."""
    cosine = np.einsum("kd,pmd->pkm", examples, spec.image_embeddings.astype(np.float64))
    weights = prompt_weights(cosine, spec, prompt, parameters)
    log_kernel = (cosine - 1.0) / parameters.bandwidth  # [P, k, m]
    per_prompt = logsumexp(log_kernel, axis=(1, 2)) - np.log(log_kernel[0].size)  # [P]
    with np.errstate(divide="ignore"):  # a weight of 0 adds nothing
        return float(logsumexp(per_prompt + np.log(weights))), weights


def identify(
    examples: np.ndarray,
    specs: Mapping[str, GeneratorSpecification],
    prompt: np.ndarray | None = None,
    parameters: PMIParameters = PMI_DEFAULTS,
) -> list[Identification]:
    """Every generator ranked by S(g), best first. `examples` are unit embeddings [k, D];
    `prompt` an optional unit text embedding [D]."""
    examples = examples.astype(np.float64)
    results = []
    for name, spec in specs.items():
        score, weights = generator_score(spec, examples, prompt, parameters)
        top = np.argsort(-weights, kind="stable")[:MATCHED_PROMPTS]
        results.append(Identification(name, score, tuple(spec.prompts[i] for i in top)))
    return sorted(results, key=lambda r: (-r.score, r.generator))


def nearest_mean(examples: np.ndarray, specs: Mapping[str, GeneratorSpecification]) -> list[str]:
    """Baseline: generators ranked by cos(mean example, mean spec embedding), best first."""
    centre = examples.astype(np.float64).mean(axis=0)
    scores = {
        name: float(
            centre @ spec.image_embeddings.reshape(-1, spec.image_embeddings.shape[-1]).mean(0)
        )
        for name, spec in specs.items()
    }
    return sorted(scores, key=lambda name: (-scores[name], name))
