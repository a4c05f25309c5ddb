"""The markup the phone layout and the accessibility basics rely on (issue 26 items 3 and 5): wide lists that turn
into cards carry their column names, the report form is in sections with folding evidence rows whose fields keep
their names, the administration's pages are one menu entry, job names are words, and nothing a user typed can end a
CSS string of the printed checklist."""

from __future__ import annotations

import re

import pytest
import time_machine

from tests import builders as build
from tests.builders import NOW, PATENTS
from tests.conftest import csrf_from, login
from tracker.templating import css_string, render


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def project(db, demo_users):
    return build.demo_project(db)


def details_of(html: str) -> list[str]:
    return re.findall(r"<details class=\"evidence-row[^\"]*\"[^>]*>", html)


def test_the_report_form_has_a_summary_sections_and_folding_evidence_rows(client, project):
    login(client, "grantee")
    html = client.get(f"/projects/{project.id}/reports/1").text
    assert 'aria-label="报告目录"' in html
    for section in ("sec-targets", "sec-funds", "sec-evidence", "sec-narrative"):
        assert f'id="{section}"' in html and f'href="#{section}"' in html
    assert re.search(r"考核指标 \d+ 项，已填 0 项", html)
    # The field names the server and the browser tests use are unchanged.
    for name in (f"v{PATENTS}_value", "e0_kind", "e1_file", "fiscal_received", "narrative"):
        assert f'id="f-{name}" name="{name}"' in html
    assert 'name="evidence_rows" value="3"' in html
    # No evidence yet: the first two rows open, the third folded.
    rows = details_of(html)
    assert [" open" in r for r in rows] == [True, True, False]


def test_an_evidence_row_with_an_error_is_open_and_its_field_described_by_the_error(client, project):
    login(client, "grantee")
    url = f"/projects/{project.id}/reports/1"
    page = client.get(url).text
    lock = re.search(r'name="edit_lock" value="(\d*)"', page).group(1)
    response = client.post(url, data={
        "_csrf_token": csrf_from(page), "edit_lock": lock, "action": "save", "evidence_rows": "3",
        "narrative": "本季度完成样机设计，提交两项发明专利申请。",
        "e2_kind": "patent_application", "e2_identifier": "202310123456.7"})
    assert response.status_code == 400 and "校验位" in response.text
    rows = details_of(response.text)
    error_rows = [r for r in rows if "has-error" in r]
    assert error_rows and all(" open" in r for r in error_rows)
    field = re.search(r'<input id="f-(e\d_identifier)"[^>]*>', response.text.split("校验位")[0].rsplit("<details", 1)[1])
    assert field and 'aria-invalid="true"' in field.group(0) and f'aria-describedby="e-{field.group(1)}"' in field.group(0)
    assert f'id="e-{field.group(1)}"' in response.text


def test_the_project_list_is_a_table_of_cards_with_headed_columns(client, project):
    login(client, "officer")
    html = client.get("/projects").text
    table = html.split('<table class="cards brief">', 1)[1].split("</table>", 1)[0]
    head = table.split("</thead>", 1)[0]
    assert head.count('<th scope="col"') == 10 and "状态" in head
    row = table.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert project.code in row and 'class="col-status"' in row and '<span class="badge">' in row


def test_admin_pages_are_one_menu_entry_with_their_own_tabs(client, demo_users):
    login(client, "admin")
    html = client.get("/admin/calendar").text
    menu = html.split('class="menu"', 1)[1].split("</nav>", 1)[0]
    assert "系统管理" in menu and 'aria-current="page"' in menu and "/admin/calendar" not in menu
    tabs = html.split('<nav class="tabs"', 1)[1].split("</nav>", 1)[0]
    assert re.search(r'<a href="/admin/calendar" aria-current="page">工作日历</a>', tabs)
    assert html.count('href="/admin/calendar"') == 1


def test_job_names_are_words_with_the_command_beside_them(client, demo_users):
    login(client, "admin")
    html = client.get("/admin/jobs").text
    assert "发送邮件" in html and '<code class="command"' in html and ">send-mail</code>" in html
    assert "定时清理" in html and "催报与期限提醒" in html
    assert "badge bad" not in html
    client.get("/lang/en?next=/admin/jobs")
    english = client.get("/admin/jobs").text
    assert "Send mail" in english and ">send-mail</code>" in english


@pytest.mark.parametrize("title", ['验收清单（"}</style><script>alert(1)</script>）', "a\\\"\n}body{display:none}"])
def test_a_title_inside_the_checklist_css_cannot_end_the_string(title):
    html = render("print/checklist.html", cases=[], title=title, generated="2026-01-02 10:00", no_verdict="",
                  not_checked="")
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    content = re.search(r'@top-left \{ content: "([^"\n]*)";', style)
    assert content, style[:300]
    assert "<script>" not in html.split("</title>", 1)[1]
    assert "\\" not in content.group(1).replace("\\0000", "")  # every escape is a CSS hex escape


def test_css_string_keeps_chinese_and_escapes_what_could_end_a_string():
    assert css_string("验收清单（YS-2026-01）") == "验收清单（YS-2026-01）"
    assert css_string('"') == "\\000022" and css_string("\\") == "\\00005c" and css_string("\n") == "\\00000a"
    assert css_string("</style>") == "\\00003c/style\\00003e"
