"""The demo database of DESIGN §4: a login for every role and the demo grantee's organisation."""

from __future__ import annotations

from datetime import datetime

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


def create_demo(db: Session, *, now: datetime) -> list[str]:
    """Create the demo accounts; return their usernames. Refuses a database that already has them."""
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
    for username, role, name in DEMO_USERS:
        create_user(
            db,
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            now=now,
            display_name=name,
            organisation=org if role is Role.GRANTEE else None,
            email=f"{username}@demo.invalid",
            is_demo=True,
            actor=Actor.system("demo"),
            enforce_policy=False,  # the documented demo password is on the common-password list on purpose
        )
    return [u for u, _, _ in DEMO_USERS]
