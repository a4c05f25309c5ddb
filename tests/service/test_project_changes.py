"""Extensions and terminations with the rules of DESIGN §2."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests import builders as build
from tracker.services.accounts import AccountError
from tracker.services.project_changes import changes_of, extend, terminate

SYSTEM = build.SYSTEM


@pytest.fixture
def project(db, now):
    """Active, from 2025-01-01 to 2027-12-31 (the award list's dates; the direction allows up to 3 years)."""
    return build.project(db, code="BS-1", direction=build.FLAGGED, start=date(2025, 1, 1), end=date(2027, 12, 31),
                         fiscal=Decimal("500000"), self_funding=Decimal("0"), now=now)


def test_extension_moves_the_end_date_once(db, now, project):
    change = extend(db, project, requested_on=date(2027, 9, 1), months=6, reason="设备到货延迟", actor=SYSTEM, now=now)
    assert project.end_date == date(2028, 6, 30) and project.status == "extended"
    assert change.old_end_date == date(2027, 12, 31)
    with pytest.raises(AccountError, match="只能延期一次"):
        extend(db, project, requested_on=date(2027, 9, 1), months=1, reason="再延", actor=SYSTEM, now=now)


@pytest.mark.parametrize(("requested_on", "months", "reason", "words"), [
    (date(2027, 10, 1), 6, "晚了", "结束日期前3个月"),
    (date(2027, 9, 1), 13, "太长", "1至12个月"),
    (date(2027, 9, 1), 6, " ", "延期原因"),
])
def test_extension_rules(db, now, project, requested_on, months, reason, words):
    with pytest.raises(AccountError, match=words):
        extend(db, project, requested_on=requested_on, months=months, reason=reason, actor=SYSTEM, now=now)
    assert project.status == "active" and project.end_date == date(2027, 12, 31)


def test_termination_needs_a_reason_and_ends_the_project(db, now, project):
    with pytest.raises(AccountError):
        terminate(db, project, requested_on=date(2026, 1, 1), reason="", actor=SYSTEM, now=now)
    terminate(db, project, requested_on=date(2026, 1, 1), reason="承担单位申请终止", actor=SYSTEM, now=now)
    assert project.status == "terminated" and [c.kind for c in changes_of(db, project)] == ["termination"]
    with pytest.raises(AccountError, match="不能延期"):
        extend(db, project, requested_on=date(2026, 1, 1), months=3, reason="x", actor=SYSTEM, now=now)
