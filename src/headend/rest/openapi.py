"""The OpenAPI 3.1 document of the REST API, generated from the route declarations.

Each :class:`~headend.rest.framework.ApiRoute` contributes one operation: its parameters (path ids and the
query model's fields), its request body and response models (pydantic JSON Schema, which OpenAPI 3.1 takes
as is), its documented error answers, the roles its policy admits (``x-roles``, ``x-policy``) and, unless it
is public, its security (a bearer API token or the session cookie).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, Literal

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from headend import __version__
from headend.admin.sessions import COOKIE_NAME
from headend.http.policy import roles_for
from headend.rest.framework import ID_MAX, ApiRoute, ErrorBody, Operation

REF: Final = "#/components/schemas/{model}"
SECURITY_SCHEMES: Final = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API token (or the bootstrap token)."},
    "cookieAuth": {
        "type": "apiKey",
        "in": "cookie",
        "name": COOKIE_NAME,
        "description": "The session cookie set by /api/v1/auth/login; state-changing requests also send X-CSRF-Token.",
    },
}
_REASONS: Final = {
    401: "No valid credentials",
    403: "Authenticated, but not allowed (role, CSRF token, origin)",
    404: "No such object (or not one the caller may see)",
    409: "Conflicts with the stored state",
    422: "The request does not validate",
    429: "Too many attempts from this address; see Retry-After",
}

Key = tuple[type[BaseModel], Literal["validation", "serialization"]]


def document(routes: Iterable[object]) -> dict[str, Any]:
    """The OpenAPI document of every :class:`ApiRoute` in ``routes`` (other routes are not part of the API)."""
    operations = [r.operation for r in routes if isinstance(r, ApiRoute)]
    refs, schemas = _schemas(operations)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, refs, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Headend control plane",
            "version": __version__,
            "description": "Administer channels, subscribers, resellers and the EPG. Every call is authenticated "
            "(loopback included) unless marked public; x-roles lists the roles an operation admits.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


def _schemas(operations: list[Operation]) -> tuple[dict[Key, dict[str, Any]], dict[str, Any]]:
    wanted: dict[Key, None] = {(ErrorBody, "serialization"): None}
    for op in operations:
        if op.body is not None:
            wanted[(op.body, "validation")] = None
        if op.query is not None:
            wanted[(op.query, "validation")] = None
        if op.response is not None:
            wanted[(op.response, "serialization")] = None
    keys: list[tuple[type[BaseModel], JsonSchemaMode]] = list(wanted)
    refs, top = models_json_schema(keys, ref_template=REF)
    return {key: refs[key] for key in wanted}, dict(top.get("$defs", {}))


def _operation(op: Operation, refs: dict[Key, dict[str, Any]], schemas: dict[str, Any]) -> dict[str, Any]:
    roles = roles_for(op.policy)
    out: dict[str, Any] = {
        "operationId": op.path.strip("/").replace("/", "_").replace("{", "").replace("}", "") + "_" + op.method.lower(),
        "summary": op.summary,
        "tags": [op.tag],
        "x-policy": op.policy.value,
        "x-roles": sorted(role.value for role in roles) if roles is not None else [],
        "security": [{"bearerAuth": []}, {"cookieAuth": []}] if roles is not None else [],
        "parameters": _path_parameters(op) + _query_parameters(op, refs, schemas),
        "responses": _responses(op, refs),
    }
    if op.body is not None:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    return out


def _path_parameters(op: Operation) -> list[dict[str, Any]]:
    params = []
    for name in op.params:
        if name in op.string_params:
            schema: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$"}
        else:
            schema = {"type": "integer", "minimum": 1, "maximum": ID_MAX}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _query_parameters(op: Operation, refs: dict[Key, dict[str, Any]], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    if op.query is None:
        return []
    schema = schemas[refs[(op.query, "validation")]["$ref"].rsplit("/", 1)[-1]]
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = _not_null(dict(prop))
        description = prop.pop("description", None)
        prop.pop("title", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent rather than null: drop the null branch and the null default."""
    branches = [b for b in schema.get("anyOf", ()) if b != {"type": "null"}]
    if "anyOf" in schema and len(branches) == 1:
        schema = {k: v for k, v in schema.items() if k != "anyOf"} | branches[0]
    if "default" in schema and schema["default"] is None:
        del schema["default"]
    return schema


def _responses(op: Operation, refs: dict[Key, dict[str, Any]]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if op.response is None:
        responses[str(op.status)] = {"description": "Done"}
    else:
        content = {"application/json": {"schema": refs[(op.response, "serialization")]}}
        responses[str(op.status)] = {"description": "OK", "content": content}
    for status in _error_statuses(op):
        error = {"application/json": {"schema": refs[(ErrorBody, "serialization")]}}
        responses[str(status)] = {"description": _REASONS[status], "content": error}
    return responses


def _error_statuses(op: Operation) -> list[int]:
    statuses = [422]
    if roles_for(op.policy) is not None:
        statuses += [401, 403]
    if op.path == "/api/v1/auth/login":
        statuses += [401, 403, 429]
    if op.params:
        statuses.append(404)
    if op.method != "GET":
        statuses.append(409)
    return sorted(set(statuses))


__all__ = ["document"]
