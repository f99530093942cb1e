"""Every response checked against the OpenAPI schema, strictly: a field the schema does not name is a mismatch.

The schema (OpenAPI 3.1, so JSON Schema) is used with ``$ref`` inlined and ``additionalProperties: false``
on every object that lists its properties, so an undocumented field fails as a generated client with
strict models would. An OpenAPI 3.0 ``nullable`` is read too. Used as an httpx response hook on the
generated client.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from jsonschema import Draft202012Validator


def json_schema(node: Any, components: dict[str, Any]) -> Any:
    """An OpenAPI 3.0 schema as a strict JSON Schema (draft 2020-12)."""
    if isinstance(node, list):
        return [json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        resolved = json_schema(components[node["$ref"].rsplit("/", 1)[-1]], components)
        return {"anyOf": [resolved, {"type": "null"}]} if node.get("nullable") else resolved
    schema = {key: json_schema(value, components) for key, value in node.items() if key not in ("nullable", "example")}
    if "properties" in schema and "additionalProperties" not in schema:
        schema["additionalProperties"] = False
    if node.get("readOnly") or node.get("writeOnly"):
        schema.pop("readOnly", None)
        schema.pop("writeOnly", None)
    if node.get("nullable"):
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
        if isinstance(schema.get("type"), str):
            schema["type"] = [schema["type"], "null"]
        elif "type" not in schema:
            schema = {"anyOf": [schema, {"type": "null"}]}
    return schema


class StrictResponses:
    """Collects every way a response differs from what the schema says of its operation and status."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.components = spec["components"]["schemas"]
        self.routes = [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path) for path in spec["paths"]]
        self.checked = 0
        self.mismatches: list[str] = []

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        method, path = response.request.method.lower(), response.request.url.path
        template = next((route for pattern, route in self.routes if pattern.match(path)), None)
        where = f"{method.upper()} {template or path} -> {response.status_code}"
        if template is None or method not in self.spec["paths"][template]:
            self.mismatches.append(f"{where}: no such operation in the schema")
            return
        documented = self.spec["paths"][template][method]["responses"].get(str(response.status_code))
        self.checked += 1
        if documented is None:
            self.mismatches.append(f"{where}: the status is not documented")
            return
        content = documented.get("content") or {}
        if not content:
            if response.content:
                self.mismatches.append(f"{where}: a body where the schema says none")
            return
        media = response.headers.get("Content-Type", "").split(";")[0]
        if media not in content:
            self.mismatches.append(f"{where}: {media or 'no content type'} is not one of {sorted(content)}")
            return
        if media != "application/json":
            return
        schema = json_schema(content[media]["schema"], self.components)
        for error in Draft202012Validator(schema).iter_errors(response.json()):
            self.mismatches.append(f"{where}: {'/'.join(map(str, error.absolute_path))}: {error.message[:200]}")
