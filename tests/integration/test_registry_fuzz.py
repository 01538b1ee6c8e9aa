"""Property-based fuzzing of every endpoint of the registry, from its own OpenAPI schema
(schemathesis), against the real service on SQLite and PostgreSQL: no 5xx, and every
documented response matches its schema. Writes carry the token, so they reach the handlers
instead of stopping at 401."""

import itertools

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import TOKEN

# Examples per operation and mode (valid, invalid): 11 x 2 x 25 requests, about 2 minutes here.
EXAMPLES_PER_OPERATION = 25


def test_no_endpoint_fails_or_breaks_its_schema(service):
    schema = schemathesis.openapi.from_url(f"{service.base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 11  # every documented operation is fuzzed
    statuses: dict[str, set[int]] = {}

    for operation, mode in itertools.product(operations, GenerationMode):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case):
            response = case.call_and_validate(
                headers={"Authorization": f"Bearer {TOKEN}"},
                checks=[not_a_server_error, response_schema_conformance],
                timeout=120,
            )
            statuses.setdefault(case.operation.label, set()).add(response.status_code)

        try:
            fuzz()
        except Unsatisfiable:  # an operation without inputs has no invalid ones (/healthz)
            assert mode is GenerationMode.NEGATIVE, operation.label

    assert len(statuses) == 11  # each operation was called
    assert statuses["GET /healthz"] == {200} and 200 in statuses["GET /models"]
    assert 422 in statuses["POST /models"]  # the fuzzer also sent what the schema refuses
    assert statuses["GET /tuned"] == {200}
