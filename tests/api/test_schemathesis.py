"""Schemathesis against /openapi.json through the ASGI app: whatever the schema allows (and
whatever it does not), no request is answered with a 5xx. Each operation is called with a key of
a role it admits, so the requests get past authorization into the handlers."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok

from tests.api.conftest import Env

EXAMPLES = 12  # per operation: ~20 operations in well under a minute
ROLE_FOR = (
    ("/v1/scores", "bank"),
    ("/v1/consents", "bank"),
    ("/v1/credit-events", "bank"),
    ("/v1/scenarios", "bank"),
    ("/v1/models", "model_owner"),
    ("/v1/uploads", "admin"),
)


def _role(path: str) -> str:
    return next((role for prefix, role in ROLE_FOR if path.startswith(prefix)), "admin")


def _fuzz(op: Any, headers: dict[str, str], failures: list[str]) -> None:
    """Call one operation with EXAMPLES generated cases; record every 5xx other than 503."""

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy())
    def check(case: Any) -> None:
        response = case.call(headers={**(case.headers or {}), **headers})
        if response.status_code >= 500 and response.status_code != 503:
            failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                            f"{response.text[:300]}")

    check()


@pytest.mark.slow
def test_no_operation_answers_5xx(env: Env) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", env.app)
    failures: list[str] = []
    results = list(schema.get_all_operations())
    operations = [r.ok() for r in results if isinstance(r, Ok)]
    assert len(operations) == len(results)  # every operation of the schema is valid
    assert len(operations) >= 19

    for op in operations:
        _fuzz(op, env.h(_role(op.path)), failures)
    assert failures == []
