"""Administration pages: users, organisations, programmes, the audit log; personal data (G34)."""

from __future__ import annotations

import logging
import re

from sqlalchemy import func, select

from indicators.identifiers import uscc_check_char
from tests.conftest import csrf_from, login
from tracker.models import AuditEntry, Organisation, Programme, User


def admin_client(client, demo_users):
    login(client, "admin")
    return csrf_from(client.get("/admin/users").text)


def valid_uscc(body: str = "91450300MA5L00XY0") -> str:
    return body + uscc_check_char(body)


def test_create_user_activate_and_sign_in(client, demo_users, db):
    token = admin_client(client, demo_users)
    response = client.post("/admin/users/new", data={
        "_csrf_token": token, "username": "zhang", "display_name": "张专员", "role": "officer",
        "email": "zhang@example.gov.cn", "phone": "13912345678"})
    assert response.status_code == 200
    link = re.search(r"http://testserver\.local/activate/[\w-]+", response.text).group(0)
    client.post("/logout", data={"_csrf_token": csrf_from(response.text)})
    page = client.get(link.replace("http://testserver.local", ""))
    assert "zhang" in page.text
    passphrase = "桂林山水甲天下阳朔堪称甲桂林"
    done = client.post(link.replace("http://testserver.local", ""), data={
        "_csrf_token": csrf_from(page.text), "password": passphrase, "confirm": passphrase}, follow_redirects=False)
    assert done.status_code == 303
    assert login(client, "zhang", "桂林山水甲天下阳朔堪称甲桂林").status_code == 303
    assert "张专员" in client.get("/").text


def test_user_form_errors_re_render_with_the_input(client, demo_users, db):
    token = admin_client(client, demo_users)
    response = client.post("/admin/users/new", data={"_csrf_token": token, "username": "li", "display_name": "李",
                                                     "role": "grantee", "organisation_id": ""})
    assert response.status_code == 400
    assert "必须属于一个单位" in response.text and 'value="li"' in response.text
    assert db.scalar(select(User).where(User.username == "li")) is None


def test_concurrent_edit_gets_409_and_keeps_the_input(client, demo_users, db):
    token = admin_client(client, demo_users)
    expert = demo_users["expert"]
    stale_version = expert.version
    first = client.post(f"/admin/users/{expert.id}", data={"_csrf_token": token, "version": stale_version,
                                                           "display_name": "第一次修改", "role": "expert"})
    assert first.status_code == 200  # redirected back to the form
    second = client.post(f"/admin/users/{expert.id}", data={"_csrf_token": token, "version": stale_version,
                                                            "display_name": "第二次修改", "role": "expert"},
                         follow_redirects=False)
    assert second.status_code == 409
    assert "已被其他人修改" in second.text and "第二次修改" in second.text
    db.refresh(expert)
    assert expert.display_name == "第一次修改"


def test_organisation_with_a_bad_check_character_is_refused(client, demo_users, db):
    token = admin_client(client, demo_users)
    good = valid_uscc()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = client.post("/admin/organisations/new", data={"_csrf_token": token, "uscc": bad, "name": "桂林某公司",
                                                             "kind": "enterprise"})
    assert response.status_code == 400 and "校验位错误" in response.text
    assert db.scalar(select(func.count()).select_from(Organisation)) == 1
    ok = client.post("/admin/organisations/new", data={"_csrf_token": token, "uscc": good, "name": "桂林某公司",
                                                       "kind": "university"})
    assert ok.status_code == 200 and "桂林市" in ok.text


def test_assigning_programmes_to_an_officer(client, demo_users, db, now):
    token = admin_client(client, demo_users)
    client.post("/admin/programmes", data={"_csrf_token": token, "name": "2025年柳州市科技计划"})
    programme = db.scalar(select(Programme))
    officer = demo_users["officer"]
    response = client.post(f"/admin/users/{officer.id}/programmes",
                           data={"_csrf_token": token, "programme_id": [str(programme.id), "999", "x"]})
    assert response.status_code == 200
    db.refresh(officer)
    assert [p.name for p in officer.programmes] == ["2025年柳州市科技计划"]


def test_disabling_a_user_from_the_admin_page(client, demo_users, db):
    token = admin_client(client, demo_users)
    client.post(f"/admin/users/{demo_users['finance'].id}/active", data={"_csrf_token": token, "active": "0"})
    db.refresh(demo_users["finance"])
    assert not demo_users["finance"].is_active


def test_every_change_leaves_an_audit_row_searchable_by_the_admin(client, demo_users, db):
    token = admin_client(client, demo_users)
    before = db.scalar(select(func.count()).select_from(AuditEntry))
    client.post("/admin/programmes", data={"_csrf_token": token, "name": "审计测试计划"})
    client.post("/admin/programmes", data={"_csrf_token": token, "name": ""})  # refused: audited too
    rows = db.scalars(select(AuditEntry).where(AuditEntry.id > 0).order_by(AuditEntry.id)).all()[before:]
    assert [(r.action, r.result) for r in rows] == [("programme_created", "ok"),
                                                    ("admin_programme_create", "refused:400")]
    assert all(r.username == "admin" and r.role == "admin" and r.ip for r in rows)
    page = client.get("/admin/audit?action=programme_created")
    assert "programme_created" in page.text and "审计测试计划" in page.text
    assert client.get("/admin/audit?date_from=2026-13-45").status_code == 400


def test_phones_and_emails_are_masked_in_lists(client, demo_users, db):
    demo_users["grantee"].phone = "13812345678"
    db.commit()
    admin_client(client, demo_users)
    listing = client.get("/admin/users").text
    assert "13812345678" not in listing and "138****5678" in listing
    assert "grantee@demo.invalid" not in listing and "g***@demo.invalid" in listing
    detail = client.get(f"/admin/users/{demo_users['grantee'].id}").text
    assert "13812345678" in detail  # the admin sees the full value on the record itself


def test_personal_data_columns_are_tagged():
    from tracker.db import Base

    suspicious = re.compile(r"phone|mobile|email|id_card|sfz|bank|account_no|contact_name")
    for table in Base.metadata.tables.values():
        for column in table.columns:
            if suspicious.search(column.name):
                assert column.info.get("pii"), f"{table.name}.{column.name} is personal data: tag it"


def test_personal_data_never_reaches_the_logs(client, demo_users, db, caplog):
    demo_users["grantee"].phone = "13700001111"
    demo_users["grantee"].email = "secret.person@example.cn"
    db.commit()
    with caplog.at_level(logging.DEBUG):
        admin_client(client, demo_users)
        client.get("/admin/users")
        client.get(f"/admin/users/{demo_users['grantee'].id}")
        login(client, "grantee", "wrong-password-123")
        client.post("/login", data={"username": "secret.person@example.cn", "password": "x"})
    text = "\n".join(record.getMessage() for record in caplog.records)
    for value in ("13700001111", "secret.person@example.cn", "tracker-demo", "wrong-password-123"):
        assert value not in text
