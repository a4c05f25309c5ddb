"""The permission policy: every route, the roles it allows and the object scope (DESIGN §1, §5).

Deny by default: a route without an entry here is refused to everyone, and the route × role test in
tests/ fails on it. Object scopes (own organisation, assigned programmes, assigned cases) are checked by
the `scope` named here when the route loads an object; a foreign object answers 404 like a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracker.models.accounts import Role

ANONYMOUS = "anonymous"
EVERY_ROLE = frozenset(r.value for r in Role)


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    # "all" (no object, or every object), "own_organisation", "assigned_programmes", "assigned_cases".
    scope: str = "all"

    def allows(self, role: str | None) -> bool:
        return (role or ANONYMOUS) in self.roles


def _roles(*names: str) -> frozenset[str]:
    return frozenset(names)


PUBLIC = Rule(_roles(ANONYMOUS, *EVERY_ROLE))
SIGNED_IN = Rule(EVERY_ROLE)
ADMIN = Rule(_roles(Role.ADMIN.value))
# The guideline catalogue: officers read their assigned programmes; admin, finance and experts read every one;
# grantees do not browse it (DESIGN §1). Uploading a guideline is for officers and admins; finance and experts
# only read.
CATALOGUE_READ = Rule(_roles(Role.OFFICER.value, Role.ADMIN.value, Role.FINANCE.value, Role.EXPERT.value),
                      scope="assigned_programmes")
# Reviewing parsed indicators: officers correct their assigned programmes' clauses and rules; the admin reads
# (read-only on business data, DESIGN §1).
REVIEW_READ = Rule(_roles(Role.OFFICER.value, Role.ADMIN.value), scope="assigned_programmes")
REVIEW_EDIT = Rule(_roles(Role.OFFICER.value), scope="assigned_programmes")
# Confirming a task book: the officer of the project's programme.
TASK_BOOK_EDIT = Rule(_roles(Role.OFFICER.value), scope="assigned_programmes")
CATALOGUE_UPLOAD = Rule(_roles(Role.OFFICER.value, Role.ADMIN.value), scope="assigned_programmes")
# Importing award lists (立项清单): the officer, into the current guideline of a programme assigned to them. The
# admin is read-only on business data (DESIGN §1) and does not create projects; the template belongs to the
# import and follows its rule. Another programme's guideline, or another user's pending upload, is a 404.
PROJECT_IMPORT = Rule(_roles(Role.OFFICER.value), scope="assigned_programmes")
# Progress reports: the grantee fills, submits and corrects its own organisation's reports; the project's officer
# reviews them (accepts or returns). Everyone who may see the project reads its submitted reports and the evidence
# files something submitted refers to; a draft and its files are the grantee's alone (reports.evidence_file_for).
REPORT_EDIT = Rule(_roles(Role.GRANTEE.value), scope="own_organisation")
REPORT_REVIEW = Rule(_roles(Role.OFFICER.value), scope="assigned_programmes")
# The queue of submitted reports: officers review theirs; the admin reads every programme's queue.
REPORT_QUEUE = Rule(_roles(Role.OFFICER.value, Role.ADMIN.value), scope="assigned_programmes")
# Acceptance (验收): the grantee applies for its own organisation's projects; the officer forms committees and records
# verdicts and milestone checks for the projects of their programmes; experts check the cases of the meetings they
# sit on; the officer, the admin (read-only) and the meeting's experts read cases, meetings and the checklist.
ACCEPTANCE_APPLY = Rule(_roles(Role.GRANTEE.value), scope="own_organisation")
ACCEPTANCE_ORGANISE = Rule(_roles(Role.OFFICER.value), scope="assigned_programmes")
ACCEPTANCE_READ = Rule(_roles(Role.OFFICER.value, Role.ADMIN.value, Role.EXPERT.value), scope="assigned_cases")
EXPERT_CHECK = Rule(_roles(Role.EXPERT.value), scope="assigned_cases")
# Post-subsidy disbursements (后补助拨付): finance approves, returns to the officer, records payments and reversals of
# every programme's rows; the officer completes the rows of their programmes (the amount of bounds without a rate, an
# approved exception, a returned row sent back); the admin reads. Finance, the admin and the officer (their
# programmes: another programme's row is a 404) read the queue, a row and the payment list. Grantees see their
# projects' disbursements on the project's acceptance page, not here; experts not at all.
DISBURSEMENT_READ = Rule(_roles(Role.FINANCE.value, Role.OFFICER.value, Role.ADMIN.value), scope="assigned_programmes")
DISBURSEMENT_FINANCE = Rule(_roles(Role.FINANCE.value))
DISBURSEMENT_OFFICER = Rule(_roles(Role.OFFICER.value), scope="assigned_programmes")

# Route name → rule. Route names are the `name=` of the Litestar handlers.
POLICY: dict[str, Rule] = {
    "health": PUBLIC,
    "static": PUBLIC,
    "language": PUBLIC,
    "login": PUBLIC,
    "login_submit": PUBLIC,
    "logout": SIGNED_IN,
    "home": SIGNED_IN,
    # The user's own account (the object is always the signed-in user; a foreign token id is a 404).
    "account": SIGNED_IN,
    "account_password": SIGNED_IN,
    "account_token_create": SIGNED_IN,
    "account_token_revoke": SIGNED_IN,
    "account_language": SIGNED_IN,
    # Activation links: the token is the credential.
    "activate_form": PUBLIC,
    "activate_submit": PUBLIC,
    # Administration.
    "admin_users": ADMIN,
    "admin_user_new": ADMIN,
    "admin_user_create": ADMIN,
    "admin_user": ADMIN,
    "admin_user_update": ADMIN,
    "admin_user_active": ADMIN,
    "admin_user_activation": ADMIN,
    "admin_user_programmes": ADMIN,
    "admin_organisations": ADMIN,
    "admin_organisation_new": ADMIN,
    "admin_organisation_create": ADMIN,
    "admin_organisation": ADMIN,
    "admin_organisation_update": ADMIN,
    "admin_organisation_active": ADMIN,
    "admin_programmes": ADMIN,
    "admin_programme_create": ADMIN,
    "admin_audit": ADMIN,
    # The working-day calendar (DESIGN §1: the admin maintains it).
    "admin_calendar": ADMIN,
    "admin_calendar_enter": ADMIN,
    "admin_calendar_seed": ADMIN,
    # Business settings, scheduled jobs and the outbox (DESIGN §1: the admin sees dead mails and resends them).
    "admin_settings": ADMIN,
    "admin_settings_save": ADMIN,
    "admin_jobs": ADMIN,
    "admin_outbox": ADMIN,
    "admin_mail": ADMIN,
    "admin_mail_resend": ADMIN,
    # Guideline catalogue (a foreign programme's document or direction is a 404, like a missing one).
    "guidelines": CATALOGUE_READ,
    "guideline_search": CATALOGUE_READ,
    "guideline_document": CATALOGUE_READ,
    "guideline_flags": CATALOGUE_READ,
    "guideline_direction": CATALOGUE_READ,
    # Upload with preview; the confirm token is bound to the uploader (another user's token is a 404).
    "guideline_upload_form": CATALOGUE_UPLOAD,
    "guideline_upload": CATALOGUE_UPLOAD,
    "guideline_upload_confirm": CATALOGUE_UPLOAD,
    # Projects: each role sees its scope (grantee: own organisation; officer: assigned programmes; admin and
    # finance: all; expert: assigned acceptance cases). A foreign project is a 404 like a missing one.
    "projects": SIGNED_IN,
    "project": SIGNED_IN,
    "project_task_book": SIGNED_IN,
    "project_task_book_confirm": TASK_BOOK_EDIT,
    # Extensions and terminations are recorded by the project's officer.
    "project_extend": TASK_BOOK_EDIT,
    "project_terminate": TASK_BOOK_EDIT,
    # The organisation names which of its accounts report for the project and receive its reminders.
    "project_contacts": REPORT_EDIT,
    # The Excel export of the project list: every role, within its project scope (as "projects").
    "projects_export": SIGNED_IN,
    "projects_at_risk_export": SIGNED_IN,
    # Award-list import with preview; the confirm token is bound to the uploader.
    "project_import_form": PROJECT_IMPORT,
    "project_import_template": PROJECT_IMPORT,
    "project_import": PROJECT_IMPORT,
    "project_import_confirm": PROJECT_IMPORT,
    # Quarterly progress reports (a foreign project's report or file is a 404 like a missing one).
    "report": SIGNED_IN,
    "report_save": REPORT_EDIT,
    "report_revise": REPORT_EDIT,
    "report_excel": SIGNED_IN,
    "report_excel_upload": REPORT_EDIT,
    "report_review": REPORT_REVIEW,
    "report_queue": REPORT_QUEUE,
    "evidence_file": SIGNED_IN,
    # Indicator review queue and corrections.
    "review_queue": REVIEW_READ,
    "review_clause": REVIEW_READ,
    "review_clause_correct": REVIEW_EDIT,
    "review_clause_mark": REVIEW_EDIT,
    "review_rules": REVIEW_READ,
    "review_rule_correct": REVIEW_EDIT,
    # Acceptance: the project's acceptance page follows the project's scope (experts: their cases).
    "project_acceptance": SIGNED_IN,
    "acceptance_apply_form": ACCEPTANCE_APPLY,
    "acceptance_apply": ACCEPTANCE_APPLY,
    "acceptance": ACCEPTANCE_READ,
    "acceptance_meeting_form": ACCEPTANCE_ORGANISE,
    "acceptance_meeting_create": ACCEPTANCE_ORGANISE,
    "acceptance_meeting": ACCEPTANCE_READ,
    "acceptance_checklist_xlsx": ACCEPTANCE_READ,
    "acceptance_checklist_pdf": ACCEPTANCE_READ,
    "acceptance_checklist_print": ACCEPTANCE_READ,
    "acceptance_case": ACCEPTANCE_READ,
    "acceptance_check": EXPERT_CHECK,
    "acceptance_verdict": ACCEPTANCE_ORGANISE,
    "milestone_check": ACCEPTANCE_ORGANISE,
    # Disbursements: the queue, a row and the payment list (the filtered queue as Excel); finance's steps; the
    # officer's.
    "disbursements": DISBURSEMENT_READ,
    "disbursements_export": DISBURSEMENT_READ,
    "disbursement": DISBURSEMENT_READ,
    "disbursement_approve": DISBURSEMENT_FINANCE,
    "disbursement_return": DISBURSEMENT_FINANCE,
    "disbursement_pay": DISBURSEMENT_FINANCE,
    "disbursement_reverse": DISBURSEMENT_FINANCE,
    "disbursement_update": DISBURSEMENT_OFFICER,
    # The JSON API (DESIGN §4): the same roles and scopes as the pages it mirrors. Programmes and directions
    # like the catalogue (grantees do not browse it); projects and their targets like the project pages.
    "api_programmes": CATALOGUE_READ,
    "api_programme_summary": CATALOGUE_READ,
    "api_directions": CATALOGUE_READ,
    "api_direction": CATALOGUE_READ,
    "api_projects": SIGNED_IN,
    "api_project": SIGNED_IN,
    "api_project_targets": SIGNED_IN,
    "api_project_progress": SIGNED_IN,
    "api_project_assessment": SIGNED_IN,
    "api_reports": SIGNED_IN,
    "api_report": SIGNED_IN,
    "api_report_save": REPORT_EDIT,
    "api_report_submit": REPORT_EDIT,
    # The OpenAPI document: admins only (the route does not exist in production).
    "api_openapi": ADMIN,
}


def rule_for(route_name: str | None) -> Rule | None:
    return POLICY.get(route_name or "")


def may_access(route_name: str | None, role: str | None) -> bool:
    rule = rule_for(route_name)
    return rule is not None and rule.allows(role)
