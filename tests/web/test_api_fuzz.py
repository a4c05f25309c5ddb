"""G12: schemathesis over every /api/v1/ operation, for each role, with at least 100 generated requests per
operation (fewer only where the operation has fewer distinct inputs): no answer may be a server error.

The schema is the one the app serves at /api/v1/openapi.json (read as the admin), write bodies included. Each role
calls with a personal API token, against a world seeded with objects it may reach (tests/builders.py): a project
with reports in every status, one with none yet, one whose task book is a draft, one under acceptance on the demo
expert's meeting, another organisation's project and another programme's. Path parameters point at those objects
most of the time (the role's own, plus one outside its scope) instead of at random ids, which only ever give 404;
write bodies carry the draft's current edit lock part of the time, so saves and submits get through and the
reports move on from status to status during the run.

The counts by operation and status are printed (`-rP` shows them), with how many answers were neither 401 nor 404
and how many reached the handler (neither 401, 403, 404 nor 405). The test fails on any 5xx, listing each one with
a curl line (the token filtered out); on any answer that does not conform to the document (a status it does not
list, another content type, another shape); and when less than MIN_REACHED of a role's answers came from the
handlers (the sweep would be testing the 404 page).

Marked `api_fuzz`: left out of the default run; CI runs it on PostgreSQL (.ci/run, `suite_on_postgresql`) with
`pytest -m api_fuzz`, and it runs on SQLite the same way. TRACKER_API_FUZZ_EXAMPLES changes the number of
examples per operation and TRACKER_API_FUZZ_SEED replays a run (the seed is printed).
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from datetime import date

import pytest
import schemathesis
import time_machine
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from litestar.testing import TestClient
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance, response_schema_conformance, status_code_conformance
from schemathesis.core.failures import FailureGroup
from schemathesis.python import asgi
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import builders as build
from tracker.models import GuidelineNode, Organisation, Report, User
from tracker.services import accounts
from tracker.services.audit import Actor

pytestmark = pytest.mark.api_fuzz

ROLES = ("grantee", "officer", "expert", "finance", "admin")
EXAMPLES = int(os.environ.get("TRACKER_API_FUZZ_EXAMPLES", "100"))
SEED = int(os.environ.get("TRACKER_API_FUZZ_SEED") or random.randrange(2**32))
# Write bodies are also generated against their schema (wrong types, missing or extra parts), this many per
# operation on top of the valid ones.
NEGATIVE_EXAMPLES = EXAMPLES // 2
# Of each role's answers, at least this share must come from the handlers (not 401/403/404/405). Runs give 40 %
# to 60 %: the grantee reads no catalogue (4 of the 13 operations are 403 to it), only the grantee writes (the
# 2 writes are 403 to the others), and the invalid-body runs send some requests without the token (401).
MIN_REACHED = 0.30
MISSING = 987654
# How often a path parameter is one of the seeded objects rather than whatever was generated.
SEEDED_SHARE = 0.85
REACHED_NOT = frozenset({401, 403, 404, 405})
# Every answer is also held to the document: its status is one the operation lists, with the content type and the
# shape the document gives it (the API's contract, DESIGN §4).
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]


# --- the world ------------------------------------------------------------------------------------------


class World:
    """The seeded objects by name, and which of them each role may reach."""

    def __init__(self, db: Session, users: dict[str, User]) -> None:
        self.db = db
        officer = users["officer"]
        demo_org = db.scalar(select(Organisation).where(Organisation.id == users["grantee"].organisation_id))
        # The demo grantee's project in the demo officer's programme, its task book confirmed, with a report in
        # each status: period 1 accepted, 2 submitted, 3 returned, 4 a draft; 5 is open, 6 not yet.
        self.own = build.demo_project(db, code="FZ-OWN")
        for period, status in ((1, "accepted"), (2, "submitted"), (3, "returned"), (4, "draft")):
            build.report(db, self.own, period=period, status=status)
        document = self.own.document
        # The same, with no report yet: five open periods to write drafts in.
        self.fresh = build.project(db, guideline=document, code="FZ-FRESH", organisation=demo_org, officer=officer,
                                   confirmed=True)
        # The same organisation and programme, the task book still a draft (no report can be written).
        self.draft_book = build.project(db, guideline=document, code="FZ-DRAFT", organisation=demo_org,
                                        officer=officer)
        # Another organisation's project in the officer's programme.
        self.other = build.project(db, guideline=document, code="FZ-OTHER", officer=officer, confirmed=True,
                                   organisation=build.organisation(db, credit_code=build.uscc("91450200MA5L00FX1"),
                                                                   name="柳州其他装备有限公司"))
        build.report(db, self.other, period=1, status="submitted")
        # A programme the officer does not manage, with a project of a third organisation.
        self.foreign_doc = build.guideline(db, programme="他人科技计划")
        self.foreign = build.project(db, guideline=self.foreign_doc, code="FZ-FOREIGN", confirmed=True,
                                     organisation=build.organisation(db, credit_code=build.uscc("91450100MA5L00FX2"),
                                                                     name="南宁其他科技有限公司"))
        # The demo grantee's project at its end, applying for acceptance, in a meeting the demo expert sits on.
        self.closing = build.project(db, guideline=document, code="FZ-CLOSING", organisation=demo_org,
                                     officer=officer, start=date(2024, 3, 1), end=date(2026, 2, 28), confirmed=True,
                                     now=build.NOW)
        application = build.application(db, self.closing, now=build.NOW)
        build.meeting(db, [application], [users["expert"]], by=officer, now=build.NOW)
        self.leaf = build.direction(db, document)
        self.foreign_leaf = build.direction(db, self.foreign_doc)
        self.heading = db.scalar(select(GuidelineNode).where(GuidelineNode.document_id == document.id,
                                                             GuidelineNode.is_leaf.is_(False)).limit(1))
        self.programme_id = document.programme_id
        self.foreign_programme_id = self.foreign_doc.programme_id
        db.commit()

    def pools(self, role: str) -> dict[str, list[int]]:
        """The ids a path parameter takes for this role: what it may reach and one thing it may not."""
        own, fresh, draft_book, other, foreign, closing = (p.id for p in (
            self.own, self.fresh, self.draft_book, self.other, self.foreign, self.closing))
        projects = {
            "grantee": [own, fresh, draft_book, closing, other],
            "officer": [own, fresh, draft_book, other, closing, foreign],
            "expert": [closing, own],
            "finance": [own, fresh, draft_book, other, foreign, closing, MISSING],
            "admin": [own, fresh, draft_book, other, foreign, closing, MISSING],
        }[role]
        programmes = ([self.programme_id, self.foreign_programme_id] if role != "officer"
                      else [self.programme_id, self.programme_id, self.foreign_programme_id])
        return {
            "project_id": projects,
            "programme_id": programmes + [MISSING],
            "node_id": [self.leaf.id, self.leaf.id, self.foreign_leaf.id, self.heading.id],
            # FZ-OWN has periods 1 to 8 (4 a draft, 5 open with no report yet: those first); 0 and 9 are none.
            "period": [4, 5, 1, 2, 3, 6, 7, 8, 0, 9],
        }

    def edit_lock(self, project_id: int, period: int) -> int | None:
        """The lock a save or submit of this report needs now (None: no report yet, or no such report)."""
        if not all(isinstance(n, int) and 0 <= n < 2**31 for n in (project_id, period)):
            return None
        self.db.expire_all()
        report = self.db.scalar(select(Report).where(Report.project_id == project_id, Report.period_index == period))
        return report.latest.edit_lock if report is not None else None


@pytest.fixture(autouse=True)
def frozen():
    """The builders' day: periods 1 to 5 of FZ-OWN are open, FZ-CLOSING is in its acceptance window."""
    with time_machine.travel(build.NOW, tick=True):
        yield


def _token(db: Session, user: User) -> str:
    _row, token = accounts.create_api_token(db, user, "g12", 30, actor=Actor.system("test"), now=build.NOW)
    db.commit()
    return token


def _schema(app, db: Session, admin: User) -> schemathesis.BaseSchema:
    """The document the app serves, read as the admin, set to call the app in-process."""
    with TestClient(app=app) as client:
        response = client.get("/api/v1/openapi.json", headers={"authorization": f"Bearer {_token(db, admin)}"})
    assert response.status_code == 200, response.text
    schema = schemathesis.openapi.from_dict(response.json())
    schema.app = app
    return schema


# --- the sweep ------------------------------------------------------------------------------------------


class Sweep:
    def __init__(self, world: World, role: str, token: str) -> None:
        self.world, self.role = world, role
        self.headers = {"authorization": f"Bearer {token}"}
        self.pools = world.pools(role)
        self.statuses: dict[str, Counter[int]] = {}
        self.errors: list[str] = []
        self.nonconforming: dict[tuple[str, int], str] = {}  # one example per operation and status

    def _aim(self, case, data: st.DataObject) -> None:
        """Point the path parameters at seeded objects, most of the time; give a write its current lock, often,
        and now and then values for the task book's own targets (generated ones are mostly beyond its six)."""
        for name in list(case.path_parameters or {}):
            if name in self.pools and data.draw(st.integers(1, 100)) <= SEEDED_SHARE * 100:
                case.path_parameters[name] = data.draw(st.sampled_from(self.pools[name]))
        if case.method.upper() != "POST" or not isinstance(case.body, dict):
            return
        aid = data.draw(st.sampled_from(["none", "lock", "lock and targets", "lock and targets"]))
        if aid == "none":
            return
        params = case.path_parameters
        case.body["edit_lock"] = self.world.edit_lock(params["project_id"], params["period"])
        if aid == "lock and targets" and "values" in case.body:
            case.body["values"] = {str(position): {"value": "1", "year_value": "1", "done": "0"}
                                   for position in range(6)}
            case.body["evidence"] = []
            case.body["funds"] = {"fiscal_received": "1", "fiscal_spent": "0.5"}

    def run(self, operation, mode: GenerationMode, examples: int) -> None:
        label = operation.label
        counts = self.statuses.setdefault(label, Counter())

        @seed(SEED)
        @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
        def one(case, data) -> None:
            self._aim(case, data)
            response = case.call(headers=self.headers)
            counts[response.status_code] += 1
            if response.status_code >= 500:
                self.errors.append(f"{response.status_code} {label} as {self.role}: {response.text[:300]!r}\n"
                                   f"    {case.as_curl_command(headers=self.headers)}")
                return
            try:
                case.validate_response(response, checks=CONFORMANCE, headers=self.headers)
            except FailureGroup as exc:
                self.nonconforming.setdefault((label, response.status_code), str(exc)[:1500])

        one()

    def report(self, seconds: float) -> tuple[str, float]:
        total = Counter()
        lines = [f"G12 API sweep as {self.role}: seed {SEED}, {EXAMPLES} examples per operation "
                 f"(+{NEGATIVE_EXAMPLES} with invalid bodies per write), {seconds:.0f} s",
                 f"{'operation':<62} {'calls':>5} {'not 401/404':>11} {'reached':>7}  statuses"]
        for label, counts in self.statuses.items():
            total.update(counts)
            calls = sum(counts.values())
            neither = sum(n for status, n in counts.items() if status not in (401, 404))
            reached = sum(n for status, n in counts.items() if status not in REACHED_NOT)
            statuses = " ".join(f"{status}×{n}" for status, n in sorted(counts.items()))
            lines.append(f"{label:<62} {calls:>5} {neither:>11} {reached:>7}  {statuses}")
        calls = sum(total.values())
        neither = sum(n for status, n in total.items() if status not in (401, 404))
        reached = sum(n for status, n in total.items() if status not in REACHED_NOT)
        statuses = " ".join(f"{status}×{n}" for status, n in sorted(total.items()))
        lines.append(f"{'all operations':<62} {calls:>5} {neither:>11} {reached:>7}  {statuses}")
        return "\n".join(lines), reached / max(calls, 1)


@pytest.mark.parametrize("role", ROLES)
def test_no_operation_answers_a_server_error(app, db, demo_users, role):
    started = time.monotonic()
    world = World(db, demo_users)
    schema = _schema(app, db, demo_users["admin"])
    sweep = Sweep(world, role, _token(db, demo_users[role]))
    operations = [result.ok() for result in schema.get_all_operations()]
    api_routes = [(method, route.path) for route in app.routes if route.path.startswith("/api/v1/")
                  and route.path != "/api/v1/openapi.json" for handler in route.route_handlers
                  for method in handler.http_methods - {"HEAD", "OPTIONS"}]
    assert len(operations) == len(api_routes) == 13, "every /api/v1/ operation is in the document"
    try:
        for operation in operations:
            sweep.run(operation, GenerationMode.POSITIVE, EXAMPLES)
            if operation.method.upper() == "POST":
                sweep.run(operation, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)
    finally:
        asgi.shutdown_lifespans()  # this test's app; schemathesis keeps it running otherwise
    text, reached = sweep.report(time.monotonic() - started)
    print(text)
    assert sweep.errors == [], "\n".join(sweep.errors)
    assert sweep.nonconforming == {}, "\n\n".join(f"{label} {status}: {text}"
                                                 for (label, status), text in sweep.nonconforming.items())
    assert reached >= MIN_REACHED, text
