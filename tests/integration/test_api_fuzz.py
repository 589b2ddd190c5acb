"""Issue 12: a bounded schemathesis run over every operation of the OpenAPI document, with each role
(and without a key): no input may give a 5xx, and every documented response must fit its schema."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.settings import Settings
from tests.factories import service_event, service_world
from tests.integration.conftest import Api
from tests.integration.test_api_hardening import _run_app
from tests.integration.test_api_startups import _register

pytestmark = pytest.mark.slow
# Cases per operation and role: ~50 operations × 6 callers × this, about a minute per backend.
EXAMPLES = 4
CHECKS = [not_a_server_error, response_schema_conformance]


def _callers(api: Api) -> dict[str, dict[str, str]]:
    startup = _register(api, consents=["I_bank"])
    return {
        "anonymous": {},
        "admin": api.headers("admin"),
        "organiser": api.headers("organiser"),
        "bank": api.headers("bank", bank_id="I_bank"),
        "startup": {"Authorization": f"Bearer {startup['api_key']}"},
        "investor": api.headers("investor", investor_id="I_robot"),
    }


def test_no_operation_gives_a_server_error_for_any_caller(api_settings: Settings) -> None:
    settings_ = dataclasses.replace(api_settings, registration_rate_per_minute=100_000, key_rate_per_minute=100_000)
    for api in _run_app(settings_):
        api.load(service_world())
        api.train("declared")
        assert api.client.post("/api/events", json=service_event(), headers=api.headers("admin")).status_code == 201
        callers = _callers(api)
        schema = schemathesis.openapi.from_dict(api.client.get("/schema/openapi.json").json())
        failures: list[str] = []
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 35

        for operation in operations:
            for role, headers in callers.items():
                _fuzz(api, operation, role, headers, failures)
        assert not failures, "\n".join(failures[:20])


def _fuzz(api: Api, operation: Any, role: str, headers: dict[str, str], failures: list[str]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url="", headers=headers)
        kwargs.pop("base_url", None)
        if not kwargs.get("cookies"):
            kwargs.pop("cookies", None)
        response = api.client.request(**kwargs)
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as exc:  # collected, so that one run reports every broken operation
            failures.append(f"{role} {case.method} {case.formatted_path}: {str(exc)[:300]}")

    run()

