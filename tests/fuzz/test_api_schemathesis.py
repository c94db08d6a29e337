"""Schema fuzzing: every operation of the served OpenAPI schema, as staff, an ordinary user and
anonymous, with data that fits the schema and data that does not. No response may be a 500, and
a documented response must match its schema.

Bounded for CI (FUZZ_EXAMPLES per operation, role and mode; default 3, about 40 s on two cores);
``FUZZ_EXAMPLES=25`` was the recorded run (docs/BENCHMARKS.md). Each example runs in a rolled-back
savepoint, so an allowed DELETE cannot starve the next example of the reference data.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from energyweb.wsgi import application
from tests.scheduling.conftest import make_reference

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
SCHEMA = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
ROLES = ("staff", "user", "anon")
STATS: Counter = Counter()


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    # Called through WSGI (not Django's test client), each request would close the connection
    # that holds the test's transaction; Django's test client disconnects the same handler.
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def headers(request, db, settings, tmp_path, django_user_model):
    from rest_framework.authtoken.models import Token

    settings.MEDIA_ROOT = tmp_path / "media"
    make_reference()
    role = request.param
    if role == "anon":
        return {}
    user = django_user_model.objects.create_user(f"fuzz-{role}", is_staff=role == "staff",
                                                 is_superuser=role == "staff")
    return {"Authorization": f"Token {Token.objects.create(user=user).key}"}


def _negatable(operation) -> bool:
    """False when nothing can violate the schema: no body, no query, only free-text path segments
    (hypothesis would search hundreds of cases before giving up)."""
    if list(operation.body) or list(operation.query):
        return True
    return any(p.definition.get("schema", {}) != {"type": "string"} for p in operation.path_parameters)


def _runner(operation, mode, headers):
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        with transaction.atomic():
            response = case.call(headers=headers)
            STATS[f"{mode.value} {response.status_code}"] += 1
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance],
                                   headers=headers)
            transaction.set_rollback(True)

    return run


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    # FUZZ_REPORT=path writes the requests sent by mode and status, for docs/BENCHMARKS.md.
    if os.environ.get("FUZZ_REPORT"):
        Path(os.environ["FUZZ_REPORT"]).write_text(json.dumps(dict(sorted(STATS.items())), indent=1))


@pytest.mark.slow
@pytest.mark.parametrize("headers", ROLES, indirect=True)
@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_operation(operation, headers):
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        if mode is GenerationMode.NEGATIVE and not _negatable(operation):
            continue
        _runner(operation, mode, headers)()


def test_every_operation_is_fuzzed():
    # Guards against a schema that silently lost its paths (then the fuzzing above tests nothing).
    assert len(OPERATIONS) >= 35
    methods = Counter(op.method.upper() for op in OPERATIONS)
    assert {"GET", "POST", "PATCH", "PUT", "DELETE"} <= set(methods)
