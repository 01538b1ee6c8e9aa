import pytest
from pydantic import SecretStr
from starlette.requests import Request

from registry.guards import RateLimit, RequestGuards, check_same_origin, check_token, host_name
from registry.problems import Problem

TOKEN = SecretStr("a-token-of-24-characters")


def _request(*headers: tuple[str, str]) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/rank",
        "scheme": "http",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ((), 401),
        ((("Authorization", ""),), 401),
        ((("Authorization", "Bearer "),), 401),
        ((("Authorization", "Bearer"),), 401),
        ((("Authorization", "Basic a-token-of-24-characters"),), 401),
        ((("Authorization", "Bearer a-token-of-24-character"),), 401),  # one short
        ((("Authorization", "Bearer a-token-of-24-charactersX"),), 401),  # one long
        ((("Authorization", "Bearer x"), ("Authorization", "Bearer x")), 400),
    ],
)
def test_every_wrong_authorization_is_refused(headers, status):
    with pytest.raises(Problem) as refused:
        check_token(_request(*headers), [TOKEN], "writes")
    assert refused.value.status == status


def test_the_right_token_passes_and_no_token_configured_closes():
    check_token(_request(("Authorization", "Bearer a-token-of-24-characters")), [TOKEN], "w")
    check_token(_request(("Authorization", "bearer  a-token-of-24-characters ")), [TOKEN], "w")
    with pytest.raises(Problem, match="writes are closed"):
        check_token(_request(("Authorization", "Bearer a-token-of-24-characters")), [], "writes")


def test_a_client_gets_its_rate_and_a_retry_after_past_it():
    limit = RateLimit(per_minute=3, what="uploads")
    for _ in range(3):
        limit.take("10.0.0.1", now=100.0)
    with pytest.raises(Problem) as refused:
        limit.take("10.0.0.1", now=100.0)
    assert (refused.value.status, refused.value.headers) == (429, {"Retry-After": "20"})
    limit.take("10.0.0.2", now=100.0)  # another client has its own bucket
    limit.take("10.0.0.1", now=120.0)  # one request a 20 s back
    with pytest.raises(Problem):
        limit.take("10.0.0.1", now=121.0)


def test_host_names_and_patterns():
    assert [host_name(h) for h in ("localhost:8700", "localhost", "[::1]:8700", "[::1]")] == [
        "localhost",
        "localhost",
        "[::1]",
        "[::1]",
    ]
    guards = RequestGuards(None, ["127.0.0.1", "*.svc.cluster.local"], 10, 10, ())
    assert guards.allowed_host("127.0.0.1:8700")
    assert guards.allowed_host("hubscout-registry.ml.svc.cluster.local")
    assert not guards.allowed_host("evil.example") and not guards.allowed_host("")
    assert not guards.allowed_host("svc.cluster.local.evil.example")


def test_uploads_from_another_origin_are_refused_unless_allowed():
    check_same_origin(_request(("Host", "127.0.0.1:8700")), [])  # a program: no Origin
    own = ("Origin", "http://127.0.0.1:8700")
    check_same_origin(_request(("Host", "127.0.0.1:8700"), own), [])
    other = ("Origin", "http://evil.example")
    with pytest.raises(Problem, match="uploads from another origin"):
        check_same_origin(_request(("Host", "127.0.0.1:8700"), other), [])
    check_same_origin(_request(("Host", "127.0.0.1:8700"), other), ["http://evil.example"])
    with pytest.raises(Problem):
        check_same_origin(_request(("Host", "x"), ("Sec-Fetch-Site", "cross-site")), [])
