"""Property-based through HTTP: any body to the upload routes gets 201 or a 4xx problem+json that
names rows and fields, never a 500 (issue 16). The bodies are those of the store's parser
properties (tests/store/test_fuzz_parsers.py), sent with every content type."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import Env
from tests.store.test_fuzz_parsers import tabular_cases, xml_cases

EXAMPLES = int(os.environ.get("CHAINCREDIT_FUZZ_EXAMPLES", "40"))
HTTP = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
CONTENT_TYPES = ["text/csv", "application/json", "application/xml",
                 "application/vnd.apache.parquet", "application/octet-stream", "text/plain; a=b",
                 ""]
bodies = st.one_of(
    st.binary(max_size=3000),
    tabular_cases("csv").map(lambda c: (c[0], c[1], "text/csv")),
    tabular_cases("json").map(lambda c: (c[0], c[1], "application/json")),
    tabular_cases("parquet").map(lambda c: (c[0], c[1], "application/vnd.apache.parquet")),
    xml_cases().map(lambda d: ("invoices", d, "application/xml")),
)


def _check(r: Any) -> None:
    assert r.status_code == 201 or 400 <= r.status_code < 500, (r.status_code, r.text[:500])
    if r.status_code == 201:
        assert r.json()["rows"] >= 1
        return
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == r.status_code and body["detail"]
    for e in body.get("errors", []):
        assert isinstance(e["row"], int) and e["row"] >= 0 and e["message"]


@HTTP
@given(case=bodies, ctype=st.sampled_from(CONTENT_TYPES), kind=st.sampled_from(
    ["invoices", "orders", "credit-events", "fx_rates", "firms", "no-such-kind"]))
def test_any_upload_body_is_201_or_a_problem(env: Env, case: Any, ctype: str, kind: str) -> None:
    if isinstance(case, tuple):
        kind, data, ctype = case
    else:
        data = case
    headers = {**env.h("admin"), **({"Content-Type": ctype} if ctype else {})}
    _check(env.client.post(f"/v1/uploads/{kind}", content=data, headers=headers))
