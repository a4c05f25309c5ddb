"""Progress reports: the workflow, every validation rule, immutability (code and triggers), optimistic locking,
and progress from accepted versions only (DESIGN §2; G24, G25). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from tests import builders as build
from tests.builders import NOW, PATENTS, PER_YEAR, PLATFORM, QUALITATIVE, REVENUE, STRENGTH, SYSTEM, TODAY
from tracker.files.store import EvidenceStore
from tracker.models import (
    Report,
    ReportEvidence,
    ReportReview,
    ReportStatus,
    ReportValue,
    ReportVersion,
    SubmittedVersionIsImmutable,
)
from tracker.services import reports as service
from tracker.services.audit import Actor
from tracker.services.reports import EvidenceInput, ReportInput, ReportProblems, ValueInput


@pytest.fixture
def project(db, demo_users):
    """The demo grantee's project, its task book (one target of every kind) confirmed."""
    return build.demo_project(db)


@pytest.fixture
def grantee(demo_users):
    return Actor.of(demo_users["grantee"], "127.0.0.1")


@pytest.fixture
def officer(demo_users):
    return Actor.of(demo_users["officer"], "127.0.0.1")


@pytest.fixture
def store(tmp_path):
    return EvidenceStore(tmp_path / "evidence")


def period(db, project, index):
    return service.period_of(db, project, index, 15)


def full_input(*, patents="2", revenue="300", strength="1380", done="0", year="1200", lock=None, **extra):
    values = {PATENTS: ValueInput(value=patents), REVENUE: ValueInput(value=revenue),
              STRENGTH: ValueInput(value=strength), PLATFORM: ValueInput(done=done),
              PER_YEAR: ValueInput(year_value=year), QUALITATIVE: ValueInput(note="正在推进")}
    values.update(extra.pop("values", {}))
    return ReportInput(values=values, evidence=extra.pop("evidence", []),
                       funds=extra.pop("funds", {"fiscal_received": "100", "fiscal_spent": "40",
                                                 "self_received": "50", "self_spent": "20"}),
                       narrative=extra.pop("narrative", "本季度完成了样机设计和两项专利申请。"), edit_lock=lock, **extra)


def save(db, project, index, data, actor, store, today=TODAY):
    return service.save_draft(db, project, period(db, project, index), data, actor=actor, now=NOW, today=today,
                              open_days=15, store=store)


def submit(db, project, index, actor, report=None, today=TODAY):
    report = report or service.reports_of(db, project)[index]
    return service.submit(db, project, period(db, project, index), edit_lock=report.latest.edit_lock, actor=actor,
                          now=NOW, today=today, open_days=15)


def accept(db, report, actor, comment=""):
    return service.review(db, report, decision="accepted", comment=comment, lock=report.lock, actor=actor, now=NOW)


def report_and_accept(db, project, index, data):
    """Saved and submitted by the demo grantee, accepted by the demo officer."""
    return build.report(db, project, period=index, status="accepted", data=data, today=TODAY, now=NOW)


def counts(db):
    return tuple(db.scalar(select(func.count()).select_from(model))
                 for model in (Report, ReportVersion, ReportValue, ReportEvidence, ReportReview))


# --- the workflow ------------------------------------------------------------------------------------


def test_draft_submit_return_resubmit_accept(db, project, grantee, officer, store):
    report = save(db, project, 1, full_input(), grantee, store)
    db.commit()
    assert report.status == ReportStatus.DRAFT and report.latest.is_draft
    report = submit(db, project, 1, grantee)
    version = report.latest
    assert report.status == ReportStatus.SUBMITTED
    assert version.content_sha256 == service.content_hash(version) and len(version.content_sha256) == 64
    assert report.first_submitted_at == NOW

    with pytest.raises(ReportProblems) as err:
        service.review(db, report, decision="returned", comment="", lock=report.lock, actor=officer, now=NOW)
    assert "comment" in err.value.errors
    service.review(db, report, decision="returned", comment="请补充专利申请受理通知书", lock=report.lock,
                   actor=officer, now=NOW)
    db.commit()
    assert report.status == ReportStatus.RETURNED and report.accepted_number is None

    draft = service.start_revision(db, project, report, lock=report.lock, actor=grantee, now=NOW, today=TODAY,
                                   open_days=15)
    assert draft.number == 2 and draft.is_draft
    assert draft.value_for(project.target_sets[-1].targets[PATENTS].id).value == Decimal("2")
    save(db, project, 1, full_input(patents="3", lock=draft.edit_lock), grantee, store)
    report = submit(db, project, 1, grantee)
    assert report.status == ReportStatus.SUBMITTED and report.first_submitted_at == NOW
    accept(db, report, officer)
    db.commit()
    assert report.status == ReportStatus.ACCEPTED and report.accepted_number == 2
    assert [r.decision for r in report.reviews] == ["returned", "accepted"]
    assert service.project_progress(db, project)[PATENTS].current == Decimal("3")


def test_a_second_submit_of_the_same_version_is_refused(db, project, grantee, store):
    report = save(db, project, 1, full_input(), grantee, store)
    lock = report.latest.edit_lock
    submit(db, project, 1, grantee, report)
    db.commit()
    before = counts(db)
    with pytest.raises(ReportProblems) as err:
        service.submit(db, project, period(db, project, 1), edit_lock=lock, actor=grantee, now=NOW, today=TODAY,
                       open_days=15)
    assert err.value.errors["form"] == "该版本已提交，不能重复提交"
    with pytest.raises(ReportProblems) as err:
        save(db, project, 1, full_input(lock=lock), grantee, store)
    assert "等待审核" in err.value.errors["form"]
    assert counts(db) == before


def test_review_needs_a_submitted_report_and_a_current_lock(db, project, grantee, officer, store):
    report = save(db, project, 1, full_input(), grantee, store)
    with pytest.raises(ReportProblems) as err:
        accept(db, report, officer)
    assert "不在待审核状态" in err.value.errors["form"]
    submit(db, project, 1, grantee, report)
    with pytest.raises(ReportProblems) as err:
        service.review(db, report, decision="accepted", comment="", lock=report.lock - 1, actor=officer, now=NOW)
    assert "lock" in err.value.errors
    with pytest.raises(ReportProblems) as err:
        service.review(db, report, decision="maybe", comment="", lock=report.lock, actor=officer, now=NOW)
    assert "decision" in err.value.errors


# --- validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("values", "key", "words"), [
    ({PATENTS: ValueInput(value="-1")}, f"v{PATENTS}_value", "负数"),
    ({PATENTS: ValueInput(value="很多")}, f"v{PATENTS}_value", "不是数字"),
    ({REVENUE: ValueInput(value="12吨")}, f"v{REVENUE}_value", "吨"),
    ({PER_YEAR: ValueInput(year_value="abc")}, f"v{PER_YEAR}_year_value", "不是数字"),
    ({PLATFORM: ValueInput(done="maybe")}, f"v{PLATFORM}_done", "是否已完成"),
])
def test_bad_values_are_refused_with_the_field_named(db, project, grantee, store, values, key, words):
    before = counts(db)
    with pytest.raises(ReportProblems) as err:
        save(db, project, 1, full_input(values=values), grantee, store)
    assert words in err.value.errors[key], err.value.errors
    assert counts(db) == before


def test_values_convert_into_the_targets_unit(db, project, grantee, store):
    report = save(db, project, 1, full_input(revenue="1.2亿元", year="5000万元"), grantee, store)
    targets = project.target_sets[-1].targets
    assert report.latest.value_for(targets[REVENUE].id).value == Decimal("12000")
    assert report.latest.value_for(targets[PER_YEAR].id).year_value == Decimal("5000")


def test_a_decreasing_cumulative_value_needs_an_explanation(db, project, grantee, store):
    report_and_accept(db, project, 1, full_input(patents="3"))
    before = counts(db)
    with pytest.raises(ReportProblems) as err:
        save(db, project, 2, full_input(patents="2"), grantee, store)
    assert "减少时必须说明原因" in err.value.errors[f"v{PATENTS}_explanation"]
    assert counts(db) == before
    explained = {PATENTS: ValueInput(value="2", explanation="一项申请被驳回")}
    report = save(db, project, 2, full_input(values=explained), grantee, store)
    assert report.latest.value_for(project.target_sets[-1].targets[PATENTS].id).explanation == "一项申请被驳回"
    # A level target is a measurement: a worse one is no decrease of anything.
    save(db, project, 2, full_input(values=explained, strength="1300", lock=report.latest.edit_lock), grantee, store)


@pytest.mark.parametrize(("kind", "identifier", "words"), [
    ("patent_application", "202310123456.7", "校验位"),
    ("software_copyright", "2023SX0123456", ""),
    ("issn", "0378-5954", ""),
    ("standard", "国家标准", "GB/T"),
    ("doi", "11.1000/xyz", ""),
    ("kind-that-does-not-exist", "x", "材料类型"),
])
def test_bad_evidence_identifiers_are_refused(db, project, grantee, store, kind, identifier, words):
    with pytest.raises(ReportProblems) as err:
        save(db, project, 1, full_input(evidence=[EvidenceInput(kind=kind, identifier=identifier)]), grantee, store)
    message = err.value.errors.get("e0_identifier") or err.value.errors.get("e0_kind")
    assert message and words in message


def test_good_identifiers_are_stored_normalised_and_duplicates_refused(db, project, grantee, store):
    items = [EvidenceInput(kind="patent_application", identifier="CN 202310123456.6", target=str(PATENTS)),
             EvidenceInput(kind="software_copyright", identifier="2023sr0123456"),
             EvidenceInput(kind="standard", identifier="GB/T 12345—2020"),
             EvidenceInput(kind="issn", identifier="0378-5955"),
             EvidenceInput(kind="doi", identifier="https://doi.org/10.1000/xyz123")]
    report = save(db, project, 1, full_input(evidence=items), grantee, store)
    stored = [(e.kind, e.identifier) for e in report.latest.evidence]
    assert stored[0] == ("patent_application", "202310123456.6")
    assert stored[1] == ("software_copyright", "2023SR0123456")
    assert report.latest.evidence[0].target.position == PATENTS
    twice = [items[0], EvidenceInput(kind="patent_application", identifier="202310123456.6")]
    with pytest.raises(ReportProblems) as err:
        save(db, project, 1, full_input(evidence=twice, lock=report.latest.edit_lock), grantee, store)
    assert "重复" in err.value.errors["e1_identifier"]


def test_funds_are_checked(db, project, grantee, store):
    bad = {"fiscal_received": "100", "fiscal_spent": "150", "self_received": "-1", "self_spent": ""}
    with pytest.raises(ReportProblems) as err:
        save(db, project, 1, full_input(funds=bad), grantee, store)
    assert "不能超过累计到位" in err.value.errors["fiscal_spent"]
    assert "负数" in err.value.errors["self_received"]
    with pytest.raises(ReportProblems) as err:
        save(db, project, 1, full_input(funds={"fiscal_received": "250", "fiscal_spent": "1"}), grantee, store)
    assert "立项的财政资金" in err.value.errors["fiscal_received"]
    report = save(db, project, 1, full_input(funds={"fiscal_received": "1.5", "fiscal_spent": "0.25"}), grantee,
                  store)
    assert report.latest.fiscal_received == Decimal("15000.00") and report.latest.fiscal_spent == Decimal("2500.00")


def test_submit_needs_a_complete_report(db, project, grantee, store):
    empty = ReportInput(values={}, funds={}, narrative="")
    report = save(db, project, 1, empty, grantee, store)
    with pytest.raises(ReportProblems) as err:
        submit(db, project, 1, grantee, report)
    errors = err.value.errors
    assert {f"v{PATENTS}_value", f"v{REVENUE}_value", f"v{PER_YEAR}_year_value", "narrative",
            "fiscal_received"} <= set(errors)
    assert f"v{STRENGTH}_value" not in errors  # a level target may not be measured yet
    done = save(db, project, 1, full_input(done="1", lock=report.latest.edit_lock), grantee, store)
    with pytest.raises(ReportProblems) as err:
        submit(db, project, 1, grantee, done)
    assert "佐证材料" in err.value.errors[f"v{PLATFORM}_done"]


def test_a_period_that_is_not_open_takes_no_report(db, project, grantee, store):
    future = period(db, project, 6)  # 2026 Q2 ends 2026-06-30; on TODAY it is months away
    with pytest.raises(ReportProblems) as err:
        service.save_draft(db, project, future, full_input(), actor=grantee, now=NOW, today=TODAY, open_days=15,
                           store=store)
    assert "起才能填报" in err.value.errors["form"]
    # From 15 days before the period ends it opens; late reports stay open.
    service.save_draft(db, project, future, full_input(), actor=grantee, now=NOW, today=future.end - timedelta(15),
                       open_days=15, store=store)


def test_no_report_before_the_task_book_is_confirmed_or_after_termination(db, demo_users, grantee, store):
    project = build.demo_project(db, code="RPT-UNCONFIRMED", programme="未确认计划", confirmed=False)
    with pytest.raises(ReportProblems) as err:
        save(db, project, 1, full_input(), grantee, store)
    assert "任务书尚未确认" in err.value.errors["form"]
    confirmed = build.demo_project(db, code="RPT-TERM", programme="终止计划")
    confirmed.status = "terminated"
    with pytest.raises(ReportProblems) as err:
        save(db, confirmed, 1, full_input(), grantee, store)
    assert "终止" in err.value.errors["form"]


# --- optimistic locking ------------------------------------------------------------------------------


def test_a_stale_editor_gets_a_conflict_and_nothing_is_lost(db, project, grantee, store):
    report = save(db, project, 1, full_input(patents="1"), grantee, store)
    db.commit()
    seen_by_both = report.latest.edit_lock
    save(db, project, 1, full_input(patents="2", lock=seen_by_both), grantee, store)  # the first editor
    db.commit()
    with pytest.raises(ReportProblems) as err:
        save(db, project, 1, full_input(patents="5", lock=seen_by_both), grantee, store)  # the second, stale
    assert "已被他人修改" in err.value.errors["lock"]
    db.rollback()
    assert report.latest.value_for(project.target_sets[-1].targets[PATENTS].id).value == Decimal("2")
    # Opening a period someone else opened meanwhile is a conflict too (no lock = "there was no draft").
    with pytest.raises(ReportProblems):
        save(db, project, 1, full_input(), grantee, store)


def test_two_sessions_racing_on_one_draft_lose_no_update(db, session_factory, project, grantee, store):
    report = save(db, project, 1, full_input(patents="1"), grantee, store)
    db.commit()
    lock = report.latest.edit_lock
    other = session_factory()
    try:
        other_project = other.get(type(project), project.id)
        other_report = service.reports_of(other, other_project)[1]
        assert other_report.latest.edit_lock == lock
        save(db, project, 1, full_input(patents="2", lock=lock), grantee, store)
        db.commit()
        # The other session still holds the old row in memory: the flush's version check catches it.
        with pytest.raises(ReportProblems) as err:
            service.save_draft(other, other_project, period(other, other_project, 1), full_input(patents="7", lock=lock),
                               actor=grantee, now=NOW, today=TODAY, open_days=15, store=store)
        assert "lock" in err.value.errors
        # (What the winner wrote is checked in the test above: here both sessions share one connection's
        # savepoints, and the loser's failed flush rolls back a savepoint that encloses the winner's.)
    finally:
        other.close()


# --- immutability ------------------------------------------------------------------------------------


def submitted(db, project):
    items = [EvidenceInput(kind="patent_application", identifier="202310123456.6", target=str(PATENTS))]
    return build.report(db, project, status="submitted", data=full_input(evidence=items), today=TODAY, now=NOW).latest


def test_the_code_refuses_to_change_a_submitted_version(db, project):
    version = submitted(db, project)
    version.narrative = "改写历史"
    with pytest.raises(SubmittedVersionIsImmutable):
        db.flush()
    db.rollback()
    version.values[0].value = Decimal("99")
    with pytest.raises(SubmittedVersionIsImmutable):
        db.flush()
    db.rollback()
    db.delete(version.evidence[0])
    with pytest.raises(SubmittedVersionIsImmutable):
        db.flush()
    db.rollback()
    version.values.append(ReportValue(target=version.values[0].target, value=Decimal(1)))
    with pytest.raises((SubmittedVersionIsImmutable, DatabaseError)):
        db.flush()
    db.rollback()


@pytest.mark.parametrize("statement", [
    "UPDATE report_versions SET narrative = 'x' WHERE id = :v",
    "UPDATE report_versions SET submitted_at = NULL WHERE id = :v",
    "DELETE FROM report_versions WHERE id = :v",
    "UPDATE report_values SET value = 99 WHERE version_id = :v",
    "DELETE FROM report_values WHERE version_id = :v",
    "UPDATE report_evidence SET identifier = 'x' WHERE version_id = :v",
    "DELETE FROM report_evidence WHERE version_id = :v",
    "INSERT INTO report_evidence (version_id, position, kind, identifier, description) VALUES (:v, 9, 'file', '', '')",
])
def test_the_database_refuses_raw_sql_on_a_submitted_version(db, project, statement):
    version = submitted(db, project)
    sha = version.content_sha256
    savepoint = db.begin_nested()
    with pytest.raises(DatabaseError):
        db.execute(text(statement), {"v": version.id})
    savepoint.rollback()
    db.expire_all()
    assert db.get(ReportVersion, version.id).content_sha256 == sha == service.content_hash(
        db.get(ReportVersion, version.id))


def test_review_decisions_are_append_only(db, project, grantee, officer, store):
    report = save(db, project, 1, full_input(), grantee, store)
    submit(db, project, 1, grantee, report)
    review = accept(db, report, officer)
    db.commit()
    for statement in ("UPDATE report_reviews SET comment = 'x' WHERE id = :r", "DELETE FROM report_reviews WHERE id = :r"):
        savepoint = db.begin_nested()
        with pytest.raises(DatabaseError):
            db.execute(text(statement), {"r": review.id})
        savepoint.rollback()


def test_a_draft_can_still_change(db, project, grantee, store):
    report = save(db, project, 1, full_input(), grantee, store)
    db.commit()
    db.execute(text("UPDATE report_versions SET narrative = 'still a draft' WHERE id = :v"), {"v": report.latest.id})


# --- progress from accepted versions ---------------------------------------------------------------------


def test_progress_counts_only_accepted_versions(db, project, officer):
    report_and_accept(db, project, 1, full_input(patents="1", strength="1350"))
    second = build.report(db, project, period=2, status="submitted", data=full_input(patents="2", strength="1420"))
    progress = service.project_progress(db, project)
    assert progress[PATENTS].current == Decimal("1")  # period 2 is submitted, not accepted
    assert progress[STRENGTH].current == Decimal("1350")
    accept(db, second, officer)
    progress = service.project_progress(db, project)
    assert progress[PATENTS].current == Decimal("2")
    assert progress[STRENGTH].current == Decimal("1420")
    specs = {s.id: s for s in service.target_specs(project.target_sets[-1])}
    assert progress[STRENGTH].met(specs[STRENGTH]) is True
    assert progress[PATENTS].met(specs[PATENTS]) is False


def test_accepting_a_correction_of_an_earlier_period_recomputes_later_figures(db, project, grantee, officer, store):
    first = report_and_accept(db, project, 1, full_input(patents="1", year="800"))
    report_and_accept(db, project, 2, full_input(patents="3", year="1500"))
    steps = {s.period_index: s.increment for s in service.project_progress(db, project)[PATENTS].steps}
    assert steps == {1: Decimal("1"), 2: Decimal("2")}
    # The grantee corrects period 1 (it was 2, not 1); until the officer accepts, nothing moves.
    draft = service.start_revision(db, project, first, lock=first.lock, actor=grantee, now=NOW, today=TODAY,
                                   open_days=15)
    save(db, project, 1, full_input(patents="2", year="800", lock=draft.edit_lock), grantee, store)
    submit(db, project, 1, grantee, first)
    assert first.status_label.startswith("更正中")
    steps = {s.period_index: s.increment for s in service.project_progress(db, project)[PATENTS].steps}
    assert steps == {1: Decimal("1"), 2: Decimal("2")}
    accept(db, first, officer)
    db.commit()
    progress = service.project_progress(db, project)[PATENTS]
    assert {s.period_index: s.increment for s in progress.steps} == {1: Decimal("2"), 2: Decimal("1")}
    assert progress.current == Decimal("3")
    assert progress_by_year(db, project) == {1: Decimal("1500")}


def progress_by_year(db, project):
    return service.project_progress(db, project)[PER_YEAR].by_year


def test_comparison_shows_what_changed_since_the_last_accepted_version(db, project, grantee, store):
    items = [EvidenceInput(kind="patent_application", identifier="202310123456.6")]
    report_and_accept(db, project, 1, full_input(patents="1", evidence=items))
    second = save(db, project, 2, full_input(patents="3"), grantee, store)
    comparison = service.compare(db, project, second, second.latest)
    row = next(c for c in comparison.values if c.target.position == PATENTS)
    assert (row.accepted, row.delta) == (Decimal("1"), Decimal("2"))
    assert comparison.against == "此前各期审核通过的数据"
    first = service.reports_of(db, project)[1]
    draft = service.start_revision(db, project, first, lock=first.lock, actor=grantee, now=NOW, today=TODAY,
                                   open_days=15)
    save(db, project, 1, full_input(patents="1", lock=draft.edit_lock), grantee, store)
    comparison = service.compare(db, project, first, first.latest)
    assert comparison.against.startswith("本期已审核通过的第1版")
    assert [e.identifier for e in comparison.evidence_removed] == ["202310123456.6"]


def test_every_step_is_audited(db, project):
    from tracker.models import AuditEntry

    report_and_accept(db, project, 1, full_input())
    actions = [a for (a,) in db.execute(select(AuditEntry.action).where(AuditEntry.object_type == "report"))]
    assert actions == ["report_save", "report_submit", "report_accepted"]


def test_queue_lists_submitted_reports_of_the_officers_programmes(db, project, demo_users):
    other = build.demo_project(db, code="RPT-2", programme="他人计划")
    report = build.report(db, project, status="submitted", data=full_input())
    build.report(db, other, status="draft", data=full_input())  # a draft: not in the queue
    assert [r.id for r in service.review_queue(db, demo_users["officer"])] == [report.id]
    assert service.review_queue(db, demo_users["grantee"]) == [report]  # own organisation's
    assert service.report_for(db, demo_users["expert"], report.id) is None
    assert [service.review_queue_size(db, demo_users[role]) for role in ("officer", "grantee", "expert")] == [1, 1, 0]
    assert service.review_queue(db, demo_users["officer"], offset=1) == []
    assert service.version_counts(db, [report]) == {report.id: 1}
    period = service.periods_of(db, [report], 15)[report.id]
    assert (period.index, period.start) == (report.period_index, report.period_start)


def test_a_new_task_book_version_keeps_the_values_by_position(db, project, grantee):
    from tracker.services.task_books import TargetChange, confirm_task_book

    first = report_and_accept(db, project, 1, full_input(patents="2"))
    target = project.target_sets[-1].targets[PATENTS]
    confirm_task_book(db, project, [TargetChange(PATENTS, str(target.value + 2), target.kind)], [],
                      reason="专家建议提高", actor=SYSTEM, now=NOW)
    db.commit()
    assert service.project_progress(db, project)[PATENTS].current == Decimal("2")
    draft = service.start_revision(db, project, first, lock=first.lock, actor=grantee, now=NOW, today=TODAY,
                                   open_days=15)
    assert draft.target_set_id == project.target_sets[-1].id
    assert draft.value_for(project.target_sets[-1].targets[PATENTS].id).value == Decimal("2")


def test_rates_and_signed_levels(db, project, grantee, store):
    """A level target with a /年 unit is a measured rate (no yearly total asked); dB levels may be negative."""
    from tracker.services.task_books import confirm_task_book

    confirm_task_book(db, project, [], [
        {"category": "performance_metric", "metric": "腐蚀速度", "op": "<=", "value": "0.1", "unit": "mm/年",
         "kind": "level"},
        {"category": "performance_metric", "metric": "相位噪声", "op": "<=", "value": "145", "unit": "dBc/Hz",
         "kind": "level"}], reason="增加技术指标", actor=SYSTEM, now=NOW)
    rate, noise = 6, 7
    project.target_sets[-1].targets[noise].value = Decimal(-145)  # as the guideline parser reads "≤-145dBc/Hz"
    db.commit()
    data = full_input(values={rate: ValueInput(value="0.08"), noise: ValueInput(value="-150")})
    report = save(db, project, 1, data, grantee, store)
    submit(db, project, 1, grantee, report)
    targets = project.target_sets[-1].targets
    assert report.latest.value_for(targets[noise].id).value == Decimal("-150")
    with pytest.raises(ReportProblems) as err:
        save(db, project, 2, full_input(values={rate: ValueInput(value="-1")}), grantee, store)
    assert "负数" in err.value.errors[f"v{rate}_value"]


# --- one step, one SAVEPOINT: a refusal or a lost race leaves the caller's transaction usable ---------------------


def test_save_and_submit_of_an_incomplete_draft_undoes_the_save_too(db, project, grantee, store):
    """The form's "提交报告": the save is refused with the submission, and the request's session stays usable
    for the page that shows why (no controller rolls back)."""
    before = counts(db)
    incomplete = full_input(narrative="")
    with pytest.raises(ReportProblems) as err:
        service.save_and_submit(db, project, period(db, project, 1), incomplete, actor=grantee, now=NOW,
                                today=TODAY, open_days=15, store=store)
    assert "narrative" in err.value.errors
    assert counts(db) == before and service.reports_of(db, project) == {}
    assert not db.new and not db.dirty  # nothing half-made waits for a later flush
    report = save(db, project, 1, full_input(), grantee, store)  # the same session goes on
    submitted = service.save_and_submit(db, project, period(db, project, 2), full_input(), actor=grantee, now=NOW,
                                        today=TODAY, open_days=15, store=store)
    assert report.status == ReportStatus.DRAFT and submitted.status == ReportStatus.SUBMITTED


def test_a_race_lost_at_the_flush_is_a_conflict_and_changes_nothing(db, project, grantee, store, monkeypatch):
    """Another editor's save found when this one is flushed (a stale version counter): refused as a conflict,
    this save undone, the draft as the other editor left it, the session usable."""
    from sqlalchemy.orm.exc import StaleDataError

    report = save(db, project, 1, full_input(patents="1"), grantee, store)
    db.commit()
    lock = report.latest.edit_lock
    real_write = service._write

    def write_then_lose(*args, **kwargs):
        real_write(*args, **kwargs)
        raise StaleDataError("UPDATE statement on table 'report_versions' expected to update 1 row(s); 0 were matched.")

    monkeypatch.setattr(service, "_write", write_then_lose)
    with pytest.raises(ReportProblems) as err:
        save(db, project, 1, full_input(patents="3", lock=lock), grantee, store)
    assert set(err.value.errors) == {"lock"}
    monkeypatch.undo()
    draft = service.reports_of(db, project)[1].latest
    assert draft.edit_lock == lock
    assert {v.target.position: v.value for v in draft.values}[PATENTS] == Decimal("1")
    again = save(db, project, 1, full_input(patents="3", lock=lock), grantee, store)
    assert {v.target.position: v.value for v in again.latest.values}[PATENTS] == Decimal("3")
