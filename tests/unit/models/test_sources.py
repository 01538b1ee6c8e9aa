import pytest

from hubscout.errors import UnknownSchemeError
from hubscout.models.sources import SCHEME_LOADERS, load_model, parse_source


def test_parse_source_splits_scheme_and_rest():
    assert parse_source("timm:resnet18@/tmp/w.pt") == ("timm", "resnet18@/tmp/w.pt")
    assert parse_source("open_clip:ViT-B-32/laion2b_s34b_b79k") == (
        "open_clip",
        "ViT-B-32/laion2b_s34b_b79k",
    )
    assert set(SCHEME_LOADERS) == {"open_clip", "timm", "cvae", "flow", "pipeline", "starter"}


@pytest.mark.parametrize("uri", ["hf:some/model", "resnet18", "timm:", ""])
def test_bad_uris_raise_a_typed_error_naming_the_schemes(uri):
    with pytest.raises(UnknownSchemeError, match="open_clip, timm, cvae, flow, pipeline, starter"):
        load_model(uri)
