"""The demo database of DESIGN §4: a login for every role, the demo grantee's organisation, and the acceptance
experts (验收专家) the committees are formed from, each with the organisation they work for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from indicators.identifiers import uscc_check_char
from tracker.models import Organisation, Role
from tracker.services.accounts import create_user, get_user_by_username
from tracker.services.audit import Actor

DEMO_PASSWORD = "tracker-demo"  # noqa: S105 - documented demo password (DESIGN §4)

DEMO_USERS = (
    ("admin", Role.ADMIN, "系统管理员（演示）"),
    ("officer", Role.OFFICER, "王专员（演示）"),
    ("grantee", Role.GRANTEE, "李负责人（演示）"),
    ("expert", Role.EXPERT, "赵专家（演示）"),
    ("finance", Role.FINANCE, "陈会计（演示）"),
)

# A fictitious company registered in 柳州市 (division 450200), with a valid check character.
_DEMO_USCC_BODY = "91450200MA5K0DEM0"
DEMO_ORGANISATION_USCC = _DEMO_USCC_BODY + uscc_check_char(_DEMO_USCC_BODY)
DEMO_ORGANISATION_NAME = "柳州示范智能装备有限公司"

# Fictitious organisations across Guangxi's cities (USCC bodies; `demo_uscc` adds the check character): the
# applicants of the demo projects (tracker/demo/projects.py), the first one the demo grantee's.
DEMO_ORGANISATIONS = (
    (_DEMO_USCC_BODY, DEMO_ORGANISATION_NAME, "enterprise"),
    ("91450100MA5K1NN00", "南宁示范生物科技有限公司", "enterprise"),
    ("91450300MA5K2GL00", "桂林示范光电技术有限公司", "enterprise"),
    ("12450000MB1D2GX00", "广西示范工业技术研究院", "institute"),
    ("12450000MB1D3DX00", "广西示范大学", "university"),
    ("12451000MB1D4BT00", "百色示范人民医院", "hospital"),
    ("91450400MA5K5WX00", "梧州示范新材料有限公司", "enterprise"),
    ("91451100MA5K6HX00", "贺州示范碳酸钙科技有限公司", "enterprise"),
)
# Employers of experts that never apply themselves.
_EXPERT_EMPLOYERS = (
    ("12450300MB1D5YX00", "桂林示范医学院", "university"),
    ("12450000MB1D6NK00", "广西示范农业科学研究院", "institute"),
    ("91450100MA5K7GC00", "南宁示范工程咨询有限公司", "enterprise"),
)
# The `expert` login works for 广西示范大学; the other expert accounts (username, name, employer's USCC body) for two
# more applicants, so the committees' conflicts of interest (回避: an expert never sits on a case of their own
# organisation) are real, and for three organisations that never apply, so every committee can seat three.
_LOGIN_EXPERT_EMPLOYER = "12450000MB1D3DX00"
DEMO_EXPERTS = (
    ("huangzh", "黄振华", "12450000MB1D2GX00"),  # 广西示范工业技术研究院
    ("liangzq", "梁志强", "91450100MA5K1NN00"),  # 南宁示范生物科技有限公司
    ("qinjg", "覃建国", "12450000MB1D6NK00"),  # 广西示范农业科学研究院
    ("mengxy", "蒙晓燕", "12450300MB1D5YX00"),  # 桂林示范医学院
    ("weilp", "韦丽萍", "91450100MA5K7GC00"),  # 南宁示范工程咨询有限公司
)


def demo_uscc(body: str) -> str:
    return body + uscc_check_char(body)


def demo_organisation(db: Session, body: str, name: str, kind: str, *, now: datetime) -> Organisation:
    """The demo organisation with this USCC body, created on first use."""
    uscc = demo_uscc(body)
    org = db.scalar(select(Organisation).where(Organisation.uscc == uscc))
    if org is None:
        org = Organisation(uscc=uscc, name=name, division_code=uscc[2:8], kind=kind, is_active=True, created_at=now,
                           version=1)
        db.add(org)
        db.flush()
    return org


def create_demo(db: Session, *, now: datetime) -> list[str]:
    """Create the demo accounts; return the usernames of the logins. Refuses a database that already has them."""
    if get_user_by_username(db, "admin") is not None:
        raise ValueError("数据库中已有 admin 账号：演示数据只能写入空数据库")
    org = Organisation(
        uscc=DEMO_ORGANISATION_USCC,
        name=DEMO_ORGANISATION_NAME,
        division_code=DEMO_ORGANISATION_USCC[2:8],
        kind="enterprise",
        is_active=True,
        contact_name="李负责人",
        contact_phone="13800000000",
        created_at=now,
        version=1,
    )
    db.add(org)
    db.flush()
    known = {body: (name, kind) for body, name, kind in (*DEMO_ORGANISATIONS, *_EXPERT_EMPLOYERS)}

    def employer(body: str) -> Organisation:
        return demo_organisation(db, body, *known[body], now=now)

    for username, role, name in DEMO_USERS:
        belongs = org if role is Role.GRANTEE else employer(_LOGIN_EXPERT_EMPLOYER) if role is Role.EXPERT else None
        _demo_user(db, username, role, name, belongs, now=now)
    for username, name, body in DEMO_EXPERTS:
        _demo_user(db, username, Role.EXPERT, name, employer(body), now=now)
    return [u for u, _, _ in DEMO_USERS]


def _demo_user(db: Session, username: str, role: Role, name: str, organisation: Organisation | None, *,
               now: datetime) -> None:
    create_user(
        db,
        username=username,
        password=DEMO_PASSWORD,
        role=role,
        now=now,
        display_name=name,
        organisation=organisation,
        email=f"{username}@demo.invalid",
        is_demo=True,
        actor=Actor.system("demo"),
        enforce_policy=False,  # the documented demo password is on the common-password list on purpose
    )
