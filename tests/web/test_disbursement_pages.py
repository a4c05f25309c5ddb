"""Disbursement (后补助拨付) pages in the browser's shoes (TestClient): finance sees the computed amount and its steps,
approves, records the payment with a voucher number (a reused one is a field error that keeps the input) and sees the
counts on the home page; a stale page's second approval is refused; finance returns one to the officer, who sends it
back; the officer enters the amount of bounds without a rate (refused above the cap, with the bounds in the message);
another programme's row is a 404 for the officer; the payment list downloads the filtered queue."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import event, func, select, update

from indicators.rules import funding
from tests import builders as build
from tests.conftest import csrf_from, login
from tracker.models import AuditEntry, Disbursement, User
from tracker.services import disbursements, verdicts
from tracker.services.acceptance import application_of
from tracker.services.audit import Actor

NOW, TODAY = build.ACCEPTANCE_NOW, build.ACCEPTANCE_TODAY


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=True):
        yield


def signed_in(client, username: str):
    client.cookies.clear()
    assert login(client, username).status_code == 303
    return client


def post(client, page: str, action: str, fields: dict):
    """A form of `page` submitted with the lock the page shows (unless `fields` gives one)."""
    html = client.get(page).text
    lock = re.search(r'name="lock" value="(\d+)"', html)
    data = {"_csrf_token": csrf_from(html), **({"lock": lock.group(1)} if lock else {}), **fields}
    return client.post(action, data=data, follow_redirects=False)


def decide(db, project, officer: User, figures: dict[str, str]) -> Disbursement:
    """The project through its committee to a 通过 verdict with these certificate figures (万元): its disbursement."""
    application = application_of(db, project) or build.application(db, project)
    if application.meeting is None:
        expert = build.expert(db, username=f"expert-{project.code.lower()}")
        build.meeting(db, [application], [expert], by=officer)
        build.check(db, application, expert)
    verdicts.record_verdict(db, application, verdicts.VerdictInput("passed", "专家组同意通过验收。", figures),
                            actor=Actor.of(officer), now=NOW)
    db.commit()
    return disbursements.live_row(db, project, "project")


def with_rule(db, project, rule: funding.FundingRule) -> None:
    project.funding_rule = {"rule": funding.to_dict(rule), "description": funding.describe(rule)}
    project.funding_mode = "后补助"
    db.commit()


@pytest.fixture
def officer(db, demo_users):
    return demo_users["officer"]


@pytest.fixture
def project(db, demo_users):
    """The demo officer's project (后补助: 10% of the certified self-funding, at most 30万元; fiscal 200万元)."""
    return build.demo_project(db, code="PAY-W1")


def test_finance_approves_the_computed_amount_and_records_the_payment(client, db, project, officer):
    row = decide(db, project, officer, {"certified_self_funding": "123.4567"})
    assert row.status == "pending" and row.amount == Decimal("123457")
    finance = signed_in(client, "finance")

    home = finance.get("/").text
    assert re.search(r'href="/disbursements\?status=pending"><strong>1</strong> 待审批', home)
    assert "12.3457 万元" in home and 'href="/disbursements?status=pending">审批后补助拨付' in home

    queue = finance.get("/disbursements").text  # finance starts on 待审批
    assert "PAY-W1" in queue and "12.3457" in queue and "柳州示范智能装备有限公司" in queue and "项目补助" in queue
    assert 'href="/disbursements/export.xlsx?status=pending&amp;programme="' in queue

    url = f"/disbursements/{row.id}"
    page = finance.get(url).text
    assert "12.3457 万元" in page and "123,457.00 元" in page  # 万元 to the yuan, and the yuan
    assert "按验收证书中核定的自筹经费的10%，不超过30万元" in page  # the rule as copied at award
    steps = re.search(r'<ol id="steps">(.*?)</ol>', page, re.S).group(1)
    assert "×10%" in steps and "123.4567万元" in steps
    assert 'id="approve"' in page and 'id="return"' in page and 'id="pay"' not in page

    stale = finance.get(url).text
    assert post(finance, url, f"{url}/approve", {}).status_code == 303
    again = finance.post(f"{url}/approve", data={"_csrf_token": csrf_from(stale),
                                                 "lock": re.search(r'name="lock" value="(\d+)"', stale).group(1)},
                         follow_redirects=False)
    assert again.status_code == 400 and "该拨付已被他人处理" in again.text  # the stale page's second approval
    page = finance.get(f"{url}?done=approve").text
    assert "已审批通过，等待登记支付" in page and 'id="pay"' in page and 'id="approve"' not in page
    assert "<strong>审批通过</strong>" in page  # the history names the step

    assert post(finance, url, f"{url}/pay", {"paid_on": TODAY.isoformat(), "voucher_no": "PZ-2026-001"}
                ).status_code == 303
    db.expire_all()
    paid = db.get(Disbursement, row.id)
    assert paid.status == "paid" and paid.voucher_no == "PZ-2026-001" and paid.paid_on == TODAY
    page = finance.get(url).text
    assert "PZ-2026-001" in page and "<strong>登记支付</strong>" in page and 'id="actions"' not in page
    actions = set(db.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "disbursement",
                                                             AuditEntry.object_id == str(row.id))))
    assert {"disbursement_created", "disbursement_approved", "disbursement_paid"} <= actions

    # A second project's payment with the same voucher number: a field error that keeps what was typed.
    other = build.demo_project(db, code="PAY-W2", programme="另一个测试计划")
    second = decide(db, other, officer, {"certified_self_funding": "80"})
    second_url = f"/disbursements/{second.id}"
    assert post(finance, second_url, f"{second_url}/approve", {}).status_code == 303
    reused = post(finance, second_url, f"{second_url}/pay", {"paid_on": TODAY.isoformat(),
                                                             "voucher_no": "PZ-2026-001"})
    assert reused.status_code == 400
    assert "凭证号PZ-2026-001已用于其他拨付" in reused.text and 'value="PZ-2026-001"' in reused.text
    db.expire_all()
    assert db.get(Disbursement, second.id).status == "approved"

    # The grantee sees the payment on the project's acceptance page (no link to finance's page).
    grantee = signed_in(client, "grantee")
    acceptance = grantee.get(f"/projects/{project.id}/acceptance").text
    assert 'id="disbursements"' in acceptance and "已支付" in acceptance and "12.3457" in acceptance
    assert f'href="/disbursements/{row.id}"' not in acceptance
    assert grantee.get(url).status_code == 403 and grantee.get("/disbursements").status_code == 403


def test_an_approval_that_loses_the_race_at_the_save_is_refused_with_the_reason(client, db, project, officer,
                                                                                monkeypatch):
    row = decide(db, project, officer, {"certified_self_funding": "80"})
    url = f"/disbursements/{row.id}"
    real = disbursements.approve

    def another_user_first(session, found, **kwargs):  # another finance user's approval commits in between
        session.connection().execute(update(Disbursement.__table__).where(Disbursement.id == found.id).values(
            status="approved", lock=Disbursement.lock + 1))  # behind the ORM's back: the row in hand is stale
        return real(session, found, **kwargs)

    monkeypatch.setattr(disbursements, "approve", another_user_first)
    finance = signed_in(client, "finance")
    lost = post(finance, url, f"{url}/approve", {})
    assert lost.status_code == 400 and "他人已处理该拨付" in lost.text


def test_finance_returns_one_with_a_comment_and_the_officer_sends_it_back(client, db, project, officer):
    row = decide(db, project, officer, {"certified_self_funding": "80"})
    url = f"/disbursements/{row.id}"
    finance = signed_in(client, "finance")
    empty = post(finance, url, f"{url}/return", {"comment": "  "})
    assert empty.status_code == 400 and "退回须写明原因" in empty.text
    assert post(finance, url, f"{url}/return", {"comment": "请核对自筹经费审计报告"}).status_code == 303

    signed_in(client, "officer")
    page = client.get(url).text
    assert "请核对自筹经费审计报告" in page and "重新提交" in page
    done = post(client, url, f"{url}/update", {"form": "resubmit"})
    assert done.status_code == 303 and done.headers["location"] == f"{url}?done=resubmit"
    db.expire_all()
    assert db.get(Disbursement, row.id).status == "pending"
    assert client.post(f"{url}/approve", data={"_csrf_token": csrf_from(page)}).status_code == 403


def test_the_officer_enters_the_amount_of_bounds_without_a_rate(client, db, project, officer):
    with_rule(db, project, funding.FundingRule(modes=frozenset({funding.FundingMode.POST}),
                                               bounds=funding.Bounds(floor=Decimal(10)),
                                               relative_caps=(funding.Share(Decimal("0.2"), "total_investment"),)))
    row = decide(db, project, officer, {"total_investment": "100"})
    assert row.status == "blocked"
    url = f"/disbursements/{row.id}"
    signed_in(client, "officer")
    page = client.get(url).text
    assert "录入补助金额" in page and "请录入补助金额" in page and "不低于10万元" in page and "不高于20万元" in page

    high = post(client, url, f"{url}/update", {"form": "amount", "amount": "25"})
    assert high.status_code == 400
    assert "高于上限20万元" in high.text and "允许范围" in high.text and 'value="25"' in high.text
    db.expire_all()
    assert db.get(Disbursement, row.id).officer_amount is None

    assert post(client, url, f"{url}/update", {"form": "amount", "amount": "15"}).status_code == 303
    db.expire_all()
    done = db.get(Disbursement, row.id)
    assert done.status == "pending" and done.amount == Decimal("150000") and done.officer_amount == Decimal("150000")
    assert "15.0000 万元" in client.get(url).text


def test_the_officer_records_an_approved_exception_to_the_matching_ratio(client, db, project, officer):
    with_rule(db, project, funding.FundingRule(modes=frozenset({funding.FundingMode.POST}),
                                               formula=funding.Share(Decimal("0.1"), "certified_self_funding"),
                                               matching=(funding.Matching(Decimal(3)),)))
    row = decide(db, project, officer, {"certified_self_funding": "300"})  # fiscal 200万元: 600万元 needed
    url = f"/disbursements/{row.id}"
    signed_in(client, "officer")
    page = client.get(url).text
    assert "应不少于600万元" in page and 'id="officer-exception"' in page and 'id="officer-amount"' not in page
    empty = post(client, url, f"{url}/update", {"form": "exception", "exception_reason": " "})
    assert empty.status_code == 400 and "请写明批准例外的依据" in empty.text
    done = post(client, url, f"{url}/update", {"form": "exception", "exception_reason": "经局务会研究同意"})
    assert done.status_code == 303
    db.expire_all()
    assert db.get(Disbursement, row.id).status == "pending" and db.get(Disbursement, row.id).amount == Decimal("300000")
    page = client.get(f"{url}?done=exception").text
    assert "经批准的例外已记录" in page and "经局务会研究同意" in page and 'id="actions"' not in page


def test_another_programmes_row_is_a_404_for_the_officer(client, db, project, officer):
    stranger = build.officer(db, username="officer-x")
    foreign = build.project(db, code="PAY-X", officer=stranger, confirmed=True)
    row = decide(db, foreign, stranger, {"certified_self_funding": "80"})
    signed_in(client, "officer")
    url = f"/disbursements/{row.id}"
    missing = client.get("/disbursements/987654")
    assert client.get(url).status_code == missing.status_code == 404
    assert post(client, "/disbursements", f"{url}/update", {"form": "resubmit", "lock": "1"}).status_code == 404
    assert "PAY-X" not in client.get("/disbursements?status=all").text
    signed_in(client, "finance")
    assert client.get(url).status_code == 200 and "PAY-X" in client.get("/disbursements").text


def test_the_queue_filters_by_state_and_programme_and_totals_the_rows(client, db, project, officer):
    decide(db, project, officer, {"certified_self_funding": "80"})  # 8万元
    other = build.demo_project(db, code="PAY-W2", programme="另一个测试计划")
    decide(db, other, officer, {"certified_self_funding": "500"})  # capped at 30万元
    signed_in(client, "finance")
    both = client.get("/disbursements?status=pending").text
    assert "PAY-W1" in both and "PAY-W2" in both and "<strong>38.0000</strong>" in both
    programme = other.programme_id
    one = client.get(f"/disbursements?status=pending&programme={programme}").text
    assert "PAY-W1" not in one and "PAY-W2" in one and "<strong>30.0000</strong>" in one
    assert f"programme={programme}" in one  # the tabs and the export keep the programme
    assert "没有符合条件的拨付" in client.get("/disbursements?status=paid").text
    assert client.get("/disbursements?status=nonsense&programme=x&page=99").status_code == 200


def test_the_queue_runs_a_constant_number_of_queries(client, db, engine, officer):
    signed_in(client, "finance")

    def count() -> int:
        seen: list[int] = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get("/disbursements?status=all").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    first = build.demo_project(db, code="PAY-Q1")
    decide(db, first, officer, {"certified_self_funding": "80"})
    few = count()
    for n in range(2, 5):
        made = build.demo_project(db, code=f"PAY-Q{n}", programme=f"查询计数计划{n}")
        decide(db, made, officer, {"certified_self_funding": "80"})
    assert count() == few


def test_the_payment_list_downloads_the_filtered_queue(client, db, project, officer):
    pytest.importorskip("tracker.exports.disbursements_xlsx")
    from openpyxl import load_workbook

    decide(db, project, officer, {"certified_self_funding": "80"})
    signed_in(client, "finance")
    response = client.get("/disbursements/export.xlsx?status=pending")
    assert response.status_code == 200 and "spreadsheetml" in response.headers["content-type"]
    cells = [str(c.value) for ws in load_workbook(io.BytesIO(response.content)).worksheets for r in ws.iter_rows()
             for c in r if c.value is not None]
    assert any("PAY-W1" in c for c in cells)
    assert db.scalar(select(func.count()).select_from(Disbursement)) == 1
