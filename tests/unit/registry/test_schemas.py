"""The registry's request schemas refuse what the service must never store or compute on."""

import pytest
from pydantic import ValidationError

from registry.schemas import RegisterRequest, SelectRequest


def test_a_registration_refuses_bad_names_control_characters_and_unknown_fields():
    ok = RegisterRequest(name="vlm-a.v2", source="open_clip:a@/m/a.pt", tags=["team:vision"])
    assert (ok.license, ok.tags) == ("unknown", ["team:vision"])
    for bad in (
        {"name": ".hidden", "source": "open_clip:a@/m/a.pt"},
        {"name": "a" * 201, "source": "open_clip:a@/m/a.pt"},
        {"name": "a", "source": "open_clip:a@/m/a.pt\nX-Injected: 1"},
        {"name": "a", "source": "open_clip:a@/m/a.pt", "tags": ["no spaces"]},
        {"name": "a", "source": "open_clip:a@/m/a.pt", "owner": "me"},
    ):
        with pytest.raises(ValidationError):
            RegisterRequest.model_validate(bad)


def test_a_selection_request_has_the_services_defaults_and_bounds():
    request = SelectRequest(class_names=["crimson", "navy"])
    assert (request.kind, request.k, request.top, request.max_params) == ("vlm", 3, 20, None)
    for bad in (
        {"class_names": []},
        {"class_names": ["a"], "k": 51},
        {"class_names": ["a"], "kind": "generator"},
        {"class_names": [""]},
        {"class_names": ["a"], "descriptions": {"a": "x" * 501}},
    ):
        with pytest.raises(ValidationError):
            SelectRequest.model_validate(bad)
