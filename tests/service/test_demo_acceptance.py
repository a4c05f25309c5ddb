"""The demo's acceptance courses (tracker/demo/projects.py): where they sit in the cycle of 60 projects and how their
days fall, for any today, what happens to their disbursements after the verdict, and which funding form a
direction's rule is. The built demo's acceptance is checked in test_demo_invariants.py, its rows at scale in
test_demo_bulk.py."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest

from indicators.deadlines import add_months
from indicators.rules import funding
from tracker.demo.acceptance import CORRECTED_AFTER, DECIDED_AFTER, PAYMENT_STEPS
from tracker.demo.projects import (
    COMMITTEE_STAGES,
    MEETS_AFTER,
    PAYMENT_STORIES,
    RUNNING_STAGES,
    STORY_DAYS,
    VERDICT_OF,
    course_of,
    funding_form,
)
from tracker.models import ProjectStatus

# Around the Spring Festival, the test suite's day, after the National Day holidays, a year the calendar table lacks.
TODAYS = (date(2025, 2, 5), date(2026, 3, 2), date(2026, 10, 9), date(2027, 1, 10))
STAGES = {*RUNNING_STAGES, "applied", *COMMITTEE_STAGES, *VERDICT_OF}


@pytest.mark.parametrize("today", TODAYS)
def test_acceptance_courses_take_the_place_of_plain_running_ones(today):
    """Every stage in every cycle, none on a project whose task book waits, extended or terminated, all inside
    the story; the project to apply for is the demo grantee's (i % 3 == 0)."""
    for cycle in (0, 1):
        stages = Counter()
        for i in range(60 * cycle, 60 * (cycle + 1)):
            course = course_of(i, today)
            if not course.acceptance:
                continue
            stages[course.acceptance] += 1
            assert course.status == ProjectStatus.ACTIVE and course.confirmed and course.changed_on is None, i
            assert course.start - timedelta(days=30) > today - timedelta(days=STORY_DAYS), i  # awarded in the story
            if course.acceptance == "to_apply":
                assert i % 3 == 0
        assert set(stages) == STAGES, stages
        assert stages["applied"] >= 2 and stages["checking"] >= 1 and stages["to_decide"] >= 1


@pytest.mark.parametrize("today", TODAYS)
def test_every_acceptance_step_falls_before_today_with_room_for_the_final_report(today):
    for i in range(120):
        course = course_of(i, today)
        stage, end = course.acceptance, course.end
        if stage in ("ready", "not_ready"):
            assert end > today, i
        if stage == "to_apply":  # window open, final report due and accepted
            assert end + timedelta(days=40) <= today <= add_months(end, 6), i
        if course.applies_on is None:
            assert stage in RUNNING_STAGES or not stage, i
            continue
        # The final report is due 15 days after the end (a working day: up to a week later) and accepted within
        # ten days of being filed; the application comes after it, inside the window, before today.
        assert end + timedelta(days=40) <= course.applies_on <= add_months(end, 6), i
        assert course.applies_on < today, i
        if stage == "applied":
            assert course.committee_on is None
            continue
        assert course.applies_on + timedelta(days=10) <= course.committee_on, i
        held = course.committee_on + timedelta(days=MEETS_AFTER)
        last = held + timedelta(days=DECIDED_AFTER + (CORRECTED_AFTER if stage == "corrected" else 0))
        assert (held if stage in COMMITTEE_STAGES else last) < today, i


@pytest.mark.parametrize("today", TODAYS)
def test_every_disbursement_story_takes_its_steps_after_the_verdict_and_before_today(today):
    """Only a 通过 pays; a corrected verdict's first row was paid before the correction (a reversal follows) or
    voided by it before finance acted; every story is told in each cycle."""
    for cycle in (0, 1):
        stories = Counter()
        for i in range(60 * cycle, 60 * (cycle + 1)):
            course = course_of(i, today)
            assert course.payment in PAYMENT_STORIES, i
            if not course.payment:
                continue
            stories[course.payment] += 1
            assert VERDICT_OF[course.acceptance] == "passed", i
            decided = course.committee_on + timedelta(days=MEETS_AFTER + DECIDED_AFTER)
            if course.funding == "milestone":  # its last milestone is checked three days after the verdict
                decided += timedelta(days=3)
            days = {action: day for day, _hour, action in PAYMENT_STEPS[course.payment]}
            assert min(days.values()) > 0 and decided + timedelta(days=max(days.values())) < today, i
            if course.acceptance == "corrected":
                paid_first = "pay" in days and days["pay"] < CORRECTED_AFTER
                assert paid_first == (course.payment != "approved_after_correction"), i
                assert "approve" not in days or paid_first or days["approve"] > CORRECTED_AFTER, i
            if "reverse" in days:  # recorded after the correction asked for it, the corrected row that night
                assert CORRECTED_AFTER < days["reverse"] < days["sweep"], i
        assert set(stories) == set(PAYMENT_STORIES) - {""}, stories


def _rule(**parts) -> dict:
    return {"rule": funding.to_dict(funding.FundingRule(**parts))}


def test_the_funding_form_of_a_direction_is_what_its_disbursement_computes_with():
    post = frozenset({funding.FundingMode.POST})
    share = funding.Share(Decimal("0.2"), "compute_spend")
    assert funding_form(_rule(modes=post, formula=share)) == "compute_spend"
    assert funding_form(_rule(modes=post, formula=funding.Share(Decimal("0.2"), "certified_self_funding"),
                              matching=(funding.Matching(Decimal(4)),))) == "certified_self_funding+matching"
    assert funding_form(_rule(modes=post, relative_caps=(funding.Share(Decimal("0.2"), "total_investment"),),
                              trigger=funding.Trigger.AFTER_PARTNER_PAYMENT)) == "partner_payment"
    assert funding_form(_rule(modes=post, relative_caps=(funding.Share(Decimal("0.2"), "total_investment"),),
                              bounds=funding.Bounds(floor=Decimal(10)))) == "total_investment"
    assert funding_form(_rule(modes=post, matching=(funding.Matching(Decimal(4)),))) == "matching"
    assert funding_form(_rule(modes=post)) == "post"
    assert funding_form(_rule(modes=frozenset({funding.FundingMode.MILESTONE}))) == "milestone"
    assert funding_form(_rule(modes=frozenset({funding.FundingMode.PRE}), formula=share)) == ""
    assert funding_form(None) == funding_form({"rule": {"modes": "nonsense"}}) == ""
