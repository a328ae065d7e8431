"""The small framework of the REST API: typed operations on top of :class:`~headend.http.control.PolicyRoute`.

An :class:`Operation` declares everything about one route: method, path (OpenAPI form, ``{name}``
parameters), policy, request body model, query model, response model and status. :func:`route` binds it to a
handler ``async def handler(call: Call) -> Model | None`` and returns an :class:`ApiRoute` for the route table;
``headend.rest.openapi`` builds the OpenAPI document from the same declarations, so the document cannot drift
from what the server does.

Per request, after the policy guard has authenticated the caller: the query is validated against the query
model, the JSON body against the body model (pydantic v2, ``extra="forbid"``, strict types); a failure is a
:class:`~headend.errors.ValidationError` naming the field, which the one error map turns into 422 with
``{"error": {"type", "message", "field"}}``. The handler's model is serialised in JSON mode; ``None`` is 204.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Generic, Self, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from headend.admin.principal import Principal
from headend.errors import NotFound, ValidationError
from headend.http.control import JSON, PolicyRoute, client_ip, services
from headend.http.policy import Policy
from headend.services import Services

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

ID_MAX: Final = 2**31 - 1
LIMIT_DEFAULT: Final = 50
LIMIT_MAX: Final = 500
BODY_MAX: Final = 1 << 20
_PARAM: Final = re.compile(r"\{([a-z_]+)\}")
_ID_TEXT: Final = re.compile(r"[0-9]{1,10}")


Id = Annotated[int, Field(ge=1, le=ID_MAX)]
"""An object id in a body: 1 to 2^31-1."""


class In(BaseModel):
    """Base of request bodies: unknown fields and loose types are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Out(BaseModel):
    """Base of response bodies: every field is always present (the schema says so)."""

    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


class Query(BaseModel):
    """Base of query-string models (values arrive as text; unknown parameters are ignored)."""

    model_config = ConfigDict(extra="ignore")


class PageQuery(Query):
    limit: int = Field(LIMIT_DEFAULT, ge=1, le=LIMIT_MAX, description="Items per page.")
    offset: int = Field(0, ge=0, le=ID_MAX, description="Items to skip.")


class SearchQuery(PageQuery):
    q: str | None = Field(None, max_length=200, description="Case-insensitive search text.")


def keep(**constraints: Any) -> Any:
    """A field of a PATCH body: absent means unchanged (see :func:`changes`); ``null`` only where the type
    allows it (e.g. ``number: int | None = keep()``: null removes the number)."""
    return Field(default=None, json_schema_extra=_no_default, **constraints)


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def changes(model: BaseModel) -> dict[str, Any]:
    """The fields the client sent, by name (the others are left unchanged)."""
    return {name: getattr(model, name) for name in model.model_fields_set}


class Page(Out, Generic[T]):
    """One page of a list: ``items``, how many there are in all (``total``), and the page asked for."""

    items: list[T]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, items: Sequence[T], query: PageQuery) -> Self:
        """The page of the full list ``items`` that ``query`` asks for."""
        chosen = list(items[query.offset : query.offset + query.limit])
        return cls(items=chosen, total=len(items), limit=query.limit, offset=query.offset)


class ErrorDetail(Out):
    model_config = ConfigDict(json_schema_serialization_defaults_required=False)  # "field": validation errors only

    type: str
    message: str
    field: str | None = None


class ErrorBody(Out):
    error: ErrorDetail


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str  # OpenAPI form: /api/v1/channels/{channel_id}
    policy: Policy
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[Query] | None = None
    response: type[BaseModel] | None = None  # None: 204 No Content
    status: int = 200
    string_params: frozenset[str] = frozenset()  # path parameters that are not integer ids

    @property
    def params(self) -> list[str]:
        return _PARAM.findall(self.path)


@dataclass(slots=True)
class Call:
    """One request to an operation: the caller, the validated inputs, and the services."""

    request: Request
    svc: Services
    operation: Operation
    params: Mapping[str, str]
    body_value: BaseModel | None = None
    query_value: Query | None = None
    hooks: list[Callable[[Response], None]] = field(default_factory=list)

    @property
    def who(self) -> Principal:
        found = getattr(self.request.state, "principal", None)
        assert isinstance(found, Principal), "an admin-policy operation runs only after the guard"
        return found

    @property
    def ip(self) -> str:
        return client_ip(self.request)

    def id(self, name: str) -> int:
        """An integer id from the path (NotFound when it cannot be one)."""
        text = self.params[name]
        if not _ID_TEXT.fullmatch(text) or not 1 <= int(text) <= ID_MAX:
            raise NotFound(f"no such {name.removesuffix('_id')}")
        return int(text)

    def text(self, name: str) -> str:
        return self.params[name]

    def body(self, model: type[M]) -> M:
        assert isinstance(self.body_value, model), f"{self.operation.path} declares no {model.__name__} body"
        return self.body_value

    def query(self, model: type[M]) -> M:
        assert isinstance(self.query_value, model), f"{self.operation.path} declares no {model.__name__} query"
        return self.query_value

    def on_response(self, hook: Callable[[Response], None]) -> None:
        """Run ``hook`` on the response before it is sent (e.g. to set a cookie)."""
        self.hooks.append(hook)

    async def audit(
        self,
        action: str,
        object_type: str,
        object_id: int | str | None = None,
        *,
        before: Mapping[str, object] | None = None,
        after: Mapping[str, object] | None = None,
    ) -> None:
        """Record a change in the audit log: who (the principal), what, before/after, from where."""
        found = getattr(self.request.state, "principal", None)
        actor = found if isinstance(found, Principal) else None
        oid = None if object_id is None else str(object_id)
        await self.svc.audit.record(
            actor,
            action,
            object_type,
            oid,
            before=None if before is None else dict(before),
            after=None if after is None else dict(after),
            ip=self.ip,
        )


Handler = Callable[[Call], Awaitable[BaseModel | None]]


class ApiRoute(PolicyRoute):
    """A PolicyRoute that carries its :class:`Operation` (for the OpenAPI document)."""

    def __init__(self, operation: Operation, handler: Handler) -> None:
        self.operation = operation
        self.handler = handler
        super().__init__(
            operation.path,
            _endpoint(operation, handler),
            policy=operation.policy,
            methods=[operation.method],
            name=handler.__name__,
        )


def route(
    method: str,
    path: str,
    handler: Handler,
    *,
    policy: Policy,
    summary: str,
    tag: str,
    body: type[BaseModel] | None = None,
    query: type[Query] | None = None,
    response: type[BaseModel] | None = None,
    status: int | None = None,
    string_params: frozenset[str] = frozenset(),
) -> ApiRoute:
    """Declare one REST operation (see the module docstring)."""
    default = 204 if response is None else (201 if method == "POST" and body is not None else 200)
    operation = Operation(
        method=method,
        path=path,
        policy=policy,
        summary=summary,
        tag=tag,
        body=body,
        query=query,
        response=response,
        status=default if status is None else status,
        string_params=string_params,
    )
    return ApiRoute(operation, handler)


def _endpoint(operation: Operation, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        call = Call(request, services(request), operation, {k: str(v) for k, v in request.path_params.items()})
        if operation.query is not None:
            call.query_value = validate(operation.query, dict(request.query_params), source="query")
        if operation.body is not None:
            call.body_value = await _read_body(request, operation.body)
        result = await handler(call)
        response = _respond(operation, result)
        for hook in call.hooks:
            hook(response)
        return response

    endpoint.__name__ = handler.__name__
    return endpoint


def _respond(operation: Operation, result: BaseModel | None) -> Response:
    if operation.response is None:
        assert result is None, f"{operation.path} declares no response body"
        return Response(status_code=operation.status)
    if not isinstance(result, operation.response):
        raise TypeError(f"{operation.path} must answer a {operation.response.__name__}")
    return JSON(result.model_dump(mode="json"), status_code=operation.status)


async def _read_body(request: Request, model: type[M]) -> M:
    raw = await request.body()
    if len(raw) > BODY_MAX:
        raise ValidationError("the request body is too large", field="body")
    if not raw.strip():
        raw = b"{}"
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if content_type not in ("application/json", ""):
        raise ValidationError("the request body must be JSON (Content-Type: application/json)", field="body")
    try:
        return model.model_validate_json(raw)
    except pydantic.ValidationError as exc:
        raise _validation_error(exc, "body") from None


def validate(model: type[M], data: Any, *, source: str) -> M:
    """``model`` validated from ``data`` (a mapping); pydantic errors become a field-naming ValidationError."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise _validation_error(exc, source) from None


def _validation_error(exc: pydantic.ValidationError, source: str) -> ValidationError:
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or source
    message = f"{where}: {first['msg']}"
    return ValidationError(message, field=where)


__all__ = [
    "LIMIT_DEFAULT",
    "LIMIT_MAX",
    "ApiRoute",
    "Call",
    "ErrorBody",
    "ErrorDetail",
    "Id",
    "In",
    "Operation",
    "Out",
    "Page",
    "PageQuery",
    "Query",
    "SearchQuery",
    "changes",
    "keep",
    "route",
    "validate",
]
