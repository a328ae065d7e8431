"""Property-based API testing (reliability.md B10/T12): schemathesis generates requests for every operation
of the served ``/api/v1/openapi.json`` and checks each answer: never a server error, and always the status
codes and bodies the document declares.

The document is loaded from the running server and each operation is driven through schemathesis' Python API
(``APIOperation.as_strategy()`` with Hypothesis; its pytest loader ``from_fixture`` does not work with pytest 9).
The server runs in its own thread (schemathesis' ``requests`` calls are synchronous), authenticated as an admin
with a bearer API token. The generated data may disable or delete that admin or revoke its token (the API
allows it, and the 401s that follow are documented answers), so after a 401 the test mints a fresh admin token
on the server and carries on.

Excluded, on purpose:

* ``POST /api/v1/epg/sources/{source_id}/refresh`` — it starts an import, which downloads the source's URL;
  generated URLs may name any host, and tests never leave loopback. (The EPG schedule is off for the same
  reason.) ``tests/rest/test_epg_sessions.py`` covers it with a file source.

Budget: ``MAX_EXAMPLES`` per operation keeps the whole run under about two minutes on two cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation, Case
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from headend import settings as settings_mod
from tests.rest.served import Served, serve_in_thread

MAX_EXAMPLES = 50
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    ignored_auth,  # without credentials, or with bad ones, an operation that needs them must refuse
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    base = settings_mod.load(env={})
    configured = settings_mod.replace(
        base,
        http={"port": 0, "host": "127.0.0.1"},
        paths={"data_dir": tmp_path_factory.mktemp("fuzz") / "data"},
        admin={"api_token": ""},  # only real API tokens: the bootstrap token is not what clients should use
        epg={"refresh": False},
    )
    with serve_in_thread(configured) as server:
        server.mint_admin_token()
        yield server


Operation = APIOperation[Any, Any, Any, Any]
EXCLUDED = {("POST", "/api/v1/epg/sources/{source_id}/refresh")}  # see the module docstring


def _operations(served: Served) -> list[Operation]:
    """Every operation of the document the running server serves (loaded over HTTP), but the excluded."""
    schema = schemathesis.openapi.from_url(f"{served.base_url}/api/v1/openapi.json", timeout=30)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the document has an invalid operation: {result.err()}"
        operations.append(result.ok())
    return [op for op in operations if (op.method.upper(), op.path) not in EXCLUDED]


def _fuzz(operation: Operation, served: Served) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    def run(case: Case[Any]) -> None:
        response = case.call_and_validate(
            base_url=served.base_url, headers={"Authorization": f"Bearer {served.token}"}, checks=CHECKS
        )
        served.calls.append((operation.method.upper(), operation.path, response.status_code))
        if response.status_code == 401:  # the generated calls locked this admin out: continue as a new one
            served.mint_admin_token()

    run()


def test_api_conforms_to_its_openapi_document(served: Served) -> None:
    operations = _operations(served)
    assert len(operations) >= 60
    assert {(op.method.upper(), op.path) for op in operations} >= {
        ("GET", "/api/v1/channels"),
        ("POST", "/api/v1/lines"),
    }
    failures = []
    for operation in operations:
        try:
            _fuzz(operation, served)
        except (AssertionError, Exception) as exc:
            failures.append(f"{operation.method.upper()} {operation.path}:\n{exc}")
    assert not failures, "\n\n".join(failures)
    answered = {(method, path) for method, path, status in served.calls if 200 <= status < 300}
    assert len(answered) >= 40, "too few operations ever succeeded: the fuzzing would prove little"


def test_the_document_is_openapi_3_1_and_every_operation_declares_roles(served: Served) -> None:
    document = httpx.get(f"{served.base_url}/api/v1/openapi.json", timeout=30).json()
    assert document["openapi"] == "3.1.0"
    operations = [op for item in document["paths"].values() for op in item.values()]
    assert len(operations) >= 60
    for operation in operations:
        assert "x-roles" in operation
        assert "x-policy" in operation
        assert "200" in operation["responses"] or any(s.startswith("2") for s in operation["responses"])
        if operation["x-policy"] != "public":
            assert operation["security"] == [{"bearerAuth": []}, {"cookieAuth": []}]
            assert set(operation["x-roles"]) <= {"admin", "operator", "support", "reseller"}
            assert {"401", "403"} <= set(operation["responses"])
    login = document["paths"]["/api/v1/auth/login"]["post"]
    assert login["security"] == []
    assert "429" in login["responses"]
    assert document["paths"]["/api/v1/audit"]["get"]["x-roles"] == ["admin"]
    assert sorted(document["paths"]["/api/v1/lines"]["post"]["x-roles"]) == ["admin", "operator", "reseller"]
