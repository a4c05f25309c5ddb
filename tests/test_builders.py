"""The test builders yield the states they promise, so that they cannot drift silently under the tests using them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests import builders as build
from tracker.models import ReportStatus, User
from tracker.services import reports as report_service
from tracker.services.reports import EvidenceInput, ReportProblems, ValueInput
from tracker.services.task_books import TaskBookProblems


def leaf_targets(db, document, title):
    node = build.direction(db, document, title)
    return [(t["category"], t["metric"], t["op"], t["value"], t["unit"], t["kind"])
            for c in node.clauses for t in c.targets]


def test_the_default_guideline(db):
    document = build.guideline(db, programme="建设者计划")
    assert document.is_current and document.version == 1 and document.programme.name == "建设者计划"
    assert document.leaf_count == 3
    assert leaf_targets(db, document, build.EVERY_KIND) == [
        ("patent_application", "发明专利申请", ">=", 3, "件", "cumulative"),
        ("revenue", "新增销售收入", ">=", 1000, "万元", "cumulative"),
        ("performance_metric", "抗拉强度", ">=", 1400, "MPa", "level"),
        ("platform", "中试平台", ">=", 1, "个", "deliverable"),
        ("revenue", "年产值", ">=", 5000, "万元/年", "cumulative"),
        ("impact", "显著经济效益", None, None, None, "qualitative"),
    ]
    node = build.direction(db, document, build.EVERY_KIND)
    assert [i["description"] for i in node.selection_rule["items"]] == ["满足①②⑤⑥全部，或满足①③⑤⑥全部",
                                                                         "满足①④⑤⑥全部"]
    funding = node.funding_rule["rule"]
    assert funding["modes"] == ["后补助"] and funding["formula"]["rate"] == "0.1"
    assert funding["bounds"]["cap"] == "30" and not node.funding_rule["flags"]
    assert node.period_rule["rule"]["months"] == 24

    flagged = build.direction(db, document, build.FLAGGED)
    kinds = [{f["kind"] for f in c.flags} for c in flagged.clauses]
    assert kinds[:3] == [{"split"}, {"split"}, {"implied_one"}] and kinds[3] == set()
    milestones = build.direction(db, document, build.MILESTONES_PATH)
    assert milestones.path == build.MILESTONES_PATH.split(" / ")
    assert milestones.funding_rule["rule"]["modes"] == ["里程碑式补助"]
    assert leaf_targets(db, document, build.MILESTONES)[-1][0] == "applicant_defined"


def test_the_same_text_is_the_same_document_and_a_changed_one_the_next_version(db, demo_users):
    officer = demo_users["officer"]
    first = build.guideline(db, programme="版本计划", officer=officer)
    assert build.guideline(db, programme="版本计划").id == first.id
    assert officer.programmes == [first.programme]
    other = build.guideline(db, programme="另一计划")
    assert other.programme_id != first.programme_id  # the title line makes each programme's file its own
    second = build.guideline(db, programme="版本计划", text=build.GUIDELINE + "\n")
    assert (second.version, second.programme_id, second.is_current, first.is_current) == (
        2, first.programme_id, True, False)


def test_a_seed(db):
    document = build.guideline(db, seed="004")
    assert document.leaf_count == 17 and document.file_name.startswith("004_")
    assert build.guideline(db, seed="004").id == document.id


def test_a_project_with_its_inherited_targets(db):
    project = build.project(db)
    target_set = project.target_sets[-1]
    assert (target_set.version, target_set.confirmed, len(project.target_sets)) == (1, False, 1)
    assert [t.kind for t in target_set.targets] == ["cumulative", "cumulative", "level", "deliverable",
                                                    "cumulative", "qualitative"]
    assert {t.source for t in target_set.targets} == {"guideline"}
    assert target_set.targets[build.PER_YEAR].unit == "万元/年"
    assert (project.start_date, project.end_date, project.period_months) == (build.START, build.END, 24)
    assert project.funding_mode == "后补助" and project.status == "active" and project.officer is None
    assert project.organisation.uscc == build.uscc() and project.organisation.division_code == "450200"
    grantee = db.scalar(select(User).where(User.organisation_id == project.organisation_id))
    assert grantee.role == "grantee" and grantee.password_hash is None  # waits for its activation link


def test_a_confirmed_project_with_custom_targets_for_an_officer(db, demo_users):
    officer, org = demo_users["officer"], demo_users["grantee"].organisation
    custom = {"category": "paper", "metric": "核心期刊论文", "op": ">=", "value": "2", "unit": "篇", "kind": "cumulative"}
    project = build.project(db, code="BLD-2", organisation=org, officer=officer, targets=[custom])
    target_set = project.target_sets[-1]
    assert (target_set.version, target_set.confirmed, len(target_set.targets)) == (1, True, 7)
    assert target_set.targets[-1].source == "custom" and target_set.targets[-1].value == Decimal(2)
    assert project.officer == officer and project.programme in officer.programmes
    assert project.organisation == org
    confirmed = build.project(db, code="BLD-3", organisation=org, confirmed=True)
    assert confirmed.target_sets[-1].confirmed and len(confirmed.target_sets[-1].targets) == 6


def test_a_milestone_funded_project(db):
    custom = {"category": "product", "metric": "续航里程", "op": ">=", "value": "500", "unit": "km", "kind": "level"}
    with pytest.raises(TaskBookProblems):  # the guideline leaves the technical targets to the task book
        build.project(db, code="EV-0", direction=build.MILESTONES_PATH, confirmed=True)
    db.rollback()
    project = build.project(db, code="EV-1", direction=build.MILESTONES_PATH, fiscal=Decimal("3000000"),
                            targets=[custom])
    assert project.is_milestone_funded and project.period_months == 36
    milestones = project.target_sets[-1].milestones
    assert [m.amount for m in milestones] == [Decimal("1500000.00"), Decimal("1500000.00")]
    assert milestones[-1].due_date == project.end_date
    unconfirmed = build.project(db, code="EV-2", direction=build.MILESTONES, start=build.START, months=24)
    assert not unconfirmed.target_sets[-1].confirmed and unconfirmed.period_months == 24


def test_people_and_organisations(db):
    nanning = build.uscc("91450100MA5L00XX0")
    org = build.organisation(db, credit_code=nanning, name="南宁测试有限公司", kind="university")
    assert (org.division_code, org.kind, org.is_active) == ("450100", "university", True)
    user = build.grantee(db, org)
    assert (user.role, user.organisation, user.password_hash) == ("grantee", org, None)
    document = build.guideline(db)
    officer = build.officer(db, username="officer-c", programmes=[document.programme])
    assert (officer.role, officer.programmes) == ("officer", [document.programme])
    project = build.project(db, guideline=document, organisation=org, officer=officer, confirmed=True)
    assert project.organisation == org and project.officer == officer
    report = build.report(db, project, status="submitted")
    assert report.latest.saved_by_id == report.latest.submitted_by_id == user.id


@pytest.mark.parametrize(("status", "versions", "accepted", "reviews"), [
    ("draft", [None], None, []),
    ("submitted", [64], None, []),
    ("accepted", [64], 1, ["accepted"]),
    ("returned", [64], None, ["returned"]),
])
def test_a_report_in_each_status(db, demo_users, status, versions, accepted, reviews):
    project = build.project(db, organisation=demo_users["grantee"].organisation, officer=demo_users["officer"],
                            confirmed=True)
    report = build.report(db, project, status=status, values={build.PATENTS: ValueInput(value="2")})
    assert report.status == ReportStatus(status) and report.period_index == 1
    assert [v.content_sha256 and len(v.content_sha256) for v in report.versions] == versions
    assert report.accepted_number == accepted
    assert [r.decision for r in report.reviews] == reviews
    assert all(r.decided_by_id == demo_users["officer"].id for r in report.reviews)
    assert report.latest.saved_by_id == demo_users["grantee"].id
    assert report.latest.value_for(project.target_sets[-1].targets[build.PATENTS].id).value == Decimal(2)
    if status == "returned":
        assert report.reviews[0].comment == "请补充佐证材料"


def test_a_report_with_an_uploaded_file_needs_a_store(db, tmp_path):
    import io

    from PIL import Image

    from tracker.files.evidence import check_evidence_file
    from tracker.files.store import EvidenceStore

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG")
    upload = EvidenceInput(kind="file", description="中试平台照片", target=str(build.PLATFORM),
                           new_file=check_evidence_file("平台.png", buffer.getvalue()))
    project = build.project(db, confirmed=True)
    with pytest.raises(ValueError, match="store"):
        build.report(db, project, evidence=[upload])
    report = build.report(db, project, status="submitted", evidence=[upload],
                          values={build.PLATFORM: ValueInput(done="1")}, store=EvidenceStore(tmp_path / "e"))
    assert report.latest.evidence[0].file.display_name == "平台.png"
    assert len(list((tmp_path / "e").rglob("*.png"))) == 1


def test_reports_build_a_history(db):
    project = build.project(db, confirmed=True)
    build.report(db, project, period=1, status="accepted", values={build.PATENTS: ValueInput(value="1")})
    build.report(db, project, period=2, status="draft", values={build.PATENTS: ValueInput(value="2")})
    build.report(db, project, period=2, status="submitted", values={build.PATENTS: ValueInput(value="3")})
    reports = report_service.reports_of(db, project)
    assert {i: r.status for i, r in reports.items()} == {1: ReportStatus.ACCEPTED, 2: ReportStatus.SUBMITTED}
    assert len(reports[2].versions) == 1  # the second call saved over the draft
    assert report_service.project_progress(db, project)[build.PATENTS].current == Decimal(1)
    with pytest.raises(ReportProblems):  # period 6 is not open on the builders' day
        build.report(db, project, period=6)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(type(reports[1]))) == 2
