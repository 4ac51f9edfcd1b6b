"""The OpenAPI document shows an example on every main endpoint (request and response)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Env

# (method, path, needs a request example)
MAIN = [
    ("get", "/v1/scores/{firm_id}", False),
    ("post", "/v1/scores:batch", True),
    ("post", "/v1/uploads/{kind}", True),
    ("post", "/v1/consents", True),
    ("get", "/v1/firms/{firm_id}/graph", False),
    ("post", "/v1/scenarios/core-default", True),
    ("get", "/v1/models/current", False),
    ("post", "/v1/models/reload", False),
    ("post", "/v1/keys", True),
]


def _resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        node = doc["components"]["schemas"][name]
    return node


def _has_example(doc: dict[str, Any], content: dict[str, Any]) -> bool:
    for media in content.values():
        if "example" in media or "examples" in media:
            return True
        schema = _resolve(doc, media.get("schema", {}))
        if "example" in schema or "examples" in schema:
            return True
    return False


def test_main_endpoints_carry_examples(env: Env) -> None:
    doc = env.client.get("/openapi.json").json()
    missing = []
    for method, path, needs_request in MAIN:
        op = doc["paths"][path][method]
        ok = op["responses"].get("200") or op["responses"].get("201")
        if not _has_example(doc, ok.get("content", {})):
            missing.append(f"{method.upper()} {path}: response")
        if needs_request and not _has_example(doc, op["requestBody"]["content"]):
            missing.append(f"{method.upper()} {path}: request")
        for status in ("401", "403"):
            assert status in op["responses"], f"{method} {path} documents no {status}"
    assert missing == []
    problem = _resolve(doc, {"$ref": "#/components/schemas/ProblemOut"})
    assert problem["example"]["errors"][0]["field"]
