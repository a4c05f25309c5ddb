"""G23: the disbursement trigger and the `disbursements` sweep run by concurrent processes that are killed (SIGKILL)
at random moments and restarted. Required at the end: exactly one live row per (project, tranche) for every basis
in force (the newest verdict of a post-subsidy project, the newest passed check of each milestone), and none for
anything else; no (project, tranche, basis) twice; per project, what is owed or paid never above the awarded fiscal
funding; every amount a Decimal without a fraction of a yuan; every row audited at its creation, and the audit chain
intact.

The phases, each simulating something:

1. The world (in this process, through the services): post-subsidy projects with passed verdicts (fiscal funding
   small enough that the award, not the rule's cap, limits some of them) and 里程碑式补助 projects with both
   milestones checked as passed (an odd fiscal funding: each half rounds up to the yuan, so the second tranche must
   take a yuan less). Then every disbursement row is deleted: a database whose verdicts and checks were committed
   without them (written before the trigger existed, or restored to a point between the two), which only the sweep
   can repair.
2. The race (worker processes): two `sweep` workers, each running the real job (`reminders.runner.run_job`, the path of
   `tracker jobs run disbursements`: one small transaction per run) in a loop, and one `desk` worker doing what the
   officer and finance do, one small transaction each: correcting verdicts and milestone checks (the trigger: void
   the old row, create the new one in the same transaction), approving, paying, and recording the reversal of a paid
   tranche whose basis was corrected (after which only the sweep creates the new basis's row). The parent kills a
   random worker with SIGKILL at a random moment, waits for it to die, restarts it, and again, `KILLS` times.
3. Settling: the desk stops; finance records every reversal still due (so that every basis in force can have its
   row); the sweepers each finish a run begun after that, then stop.
4. The checks, on a fresh connection.

CI runs 10 kills on SQLite and on PostgreSQL (slow tier, `both_databases`); `bench/disbursement_soak.py` runs 50 and
prints the figures. The workers are forked from this process once everything is imported (no engine open): a
restart costs milliseconds instead of a second of imports, which on two shared cores is what keeps this within its
two minutes. Each is a process of its own with its own connections, and SIGKILL ends it as `kill -9` would.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import threading
import time
import traceback
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from select import select as wait_readable

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from reminders.runner import run_job
from tests import builders as build
from tests.conftest import configured_database_url
from tests.own_database import drop_database, own_database
from tracker.db import make_engine, session_scope
from tracker.files.store import EvidenceStore
from tracker.models import (
    AcceptanceVerdict,
    AuditEntry,
    Disbursement,
    JobRun,
    MilestoneCheck,
    Project,
    Role,
    User,
)
from tracker.models.disbursements import LIVE, PROJECT_TRANCHE, milestone_tranche
from tracker.schema import upgrade_database
from tracker.services import accounts, disbursements, verdicts
from tracker.services.acceptance import AcceptanceProblems, application_of
from tracker.services.audit import Actor, verify_chain

pytestmark = [pytest.mark.slow, pytest.mark.both_databases]

KILLS = int(os.environ.get("TRACKER_G23_KILLS", "10"))
SEED = int(os.environ.get("TRACKER_G23_SEED", "23"))
POST_PROJECTS = 20
MILESTONE_PROJECTS = 4
OFFICER, FINANCE = "g23-officer", "g23-finance"
ROLES = ("sweep-1", "sweep-2", "desk")
OWED = ("pending", "returned", "approved", "paid")  # what counts against the award
SETTLE_TIMEOUT = 60.0
NOW = build.ACCEPTANCE_NOW  # the simulated moment of every step: a day in the projects' acceptance window
PAUSE = 0.05  # seconds, at most, between two steps of a worker
KILL_WITHIN = 2.5  # seconds, at most, from one kill (or the start) to the next


# --- the database and the world (phase 1) ------------------------------------------------------------------------


def fresh_database(base_url: str, directory: Path, suffix: str) -> str:
    """A database of its own that the subprocesses commit to (tests.own_database, goal G23)."""
    return own_database(base_url, directory, "g23", suffix)


def build_world(url: str, directory: Path, rng: random.Random) -> dict[str, int]:
    """Phase 1: the projects through acceptance (verdicts) or milestone checks, committed; then their disbursement
    rows deleted. Returns how many rows were deleted, per kind."""
    engine = make_engine(url)
    upgrade_database(engine)
    now = NOW
    store = EvidenceStore(directory / "evidence")
    with sessionmaker(bind=engine, expire_on_commit=False)() as db:
        officer = build.officer(db, username=OFFICER)
        accounts.create_user(db, username=FINANCE, password=None, role=Role.FINANCE, now=now,
                             email="g23-finance@example.org", actor=build.SYSTEM)
        expert = build.expert(db, username="g23-expert")
        # 后补助, 10% of the certified self-funding, at most 30万元: an award of 15万–34万元 limits about half.
        post = [build.project(db, code=f"G23-P{i:02d}", officer=officer, confirmed=True,
                              fiscal=Decimal(150_000 + 9_999 * i), pi_email=f"pi{i}@example.org")
                for i in range(POST_PROJECTS)]
        applications = [build.application(db, project, store=store) for project in post]
        build.meeting(db, applications, [expert], by=officer)
        for application in applications:
            build.check(db, application, expert)
            verdicts.record_verdict(db, application, verdicts.VerdictInput(
                "passed", "专家组意见", {"certified_self_funding": _wan(rng)}), actor=Actor.of(officer), now=now)
            db.commit()
        document = build.guideline(db, officer=officer)
        for i in range(MILESTONE_PROJECTS):
            project = build.project(db, guideline=document, direction=build.MILESTONES_PATH, code=f"G23-M{i}",
                                    officer=officer, months=24, fiscal=Decimal(1_234_567 + 2 * i),
                                    targets=[{"category": "performance_metric", "metric": "续航里程", "op": ">=",
                                              "value": "500", "unit": "km", "kind": "level"}])
            for position in (0, 1):
                verdicts.record_milestone_check(db, project, position, verdicts.MilestoneCheckInput(
                    "1", "2026-01-10", "检测报告"), actor=Actor.of(officer), now=now, today=build.TODAY)
            db.commit()
        deleted = Counter(row.tranche.split(":")[0] for row in db.scalars(select(Disbursement)))
        assert deleted == {"project": POST_PROJECTS, "milestone": 2 * MILESTONE_PROJECTS}, deleted
        db.execute(Disbursement.__table__.delete())
        db.commit()
    engine.dispose()
    return dict(deleted)


def _wan(rng: random.Random) -> str:
    """A certified self-funding in 万元 with four decimals (10% of it is rarely a whole yuan)."""
    return f"{Decimal(rng.randrange(500_000, 4_000_000)) / 10_000:f}"


# --- the workers (phase 2, in the forked processes) ---------------------------------------------------------------


def _is_deadlock(exc: OperationalError) -> bool:
    return "deadlock detected" in str(exc.orig)


def _sweep_worker(factory: sessionmaker[Session], name: str, rng: random.Random, stop: Path, now) -> None:
    """The `disbursements` job, run again and again (each run its own transaction, recorded in job_runs), a few
    milliseconds apart: the scheduler's hourly tick, compressed. The pause leaves the desk some of the two cores
    (and, on SQLite, of the write lock). Told to stop, it still finishes one run begun after it was told,
    successfully, so that the last run saw everything committed before."""
    while True:
        stopping = stop.exists()
        outcome = run_job(factory, "disbursements", now=now, runner=f"g23-{name}")
        if stopping and outcome.ok:
            return
        time.sleep(rng.uniform(0, PAUSE))


def _desk_worker(factory: sessionmaker[Session], rng: random.Random, stop: Path, now) -> None:
    """The officer's corrections and finance's steps, one small transaction each, in random order, a few
    milliseconds apart (people's clicks, compressed). An action refused because its state moved under it
    (AcceptanceProblems, nothing written) is let go; a deadlock PostgreSQL broke (the transaction rolled back, as a
    request's would) is written to the log, counted by the parent; anything else ends the worker with its
    traceback."""
    today = now.date()
    with factory() as db:
        officer = Actor.of(db.scalar(select(User).where(User.username == OFFICER)))
        finance = Actor.of(db.scalar(select(User).where(User.username == FINANCE)))
        projects = db.scalars(select(Project).order_by(Project.id)).all()
        post = [p.id for p in projects if not p.is_milestone_funded]
        milestones = [p.id for p in projects if p.is_milestone_funded]

    def hot(ids: list[int]) -> int:
        """Half the corrections go to the first two projects: the same tranche paid, corrected twice and reversed,
        and both milestones of one project without a row at once, happen while the sweeps run."""
        return rng.choice(ids[:2] if rng.random() < 0.5 else ids)

    def pick(db: Session, *where) -> Disbursement | None:
        ids = db.scalars(select(Disbursement.id).where(*where).order_by(Disbursement.id)).all()
        return db.get(Disbursement, rng.choice(ids)) if ids else None

    def correct_verdict(db: Session) -> None:
        project = db.get(Project, hot(post))
        kind = "failed" if rng.random() < 0.1 else "passed"  # a refusal is a live row too
        verdicts.record_verdict(db, application_of(db, project), verdicts.VerdictInput(
            kind, "专家组复核意见", {"certified_self_funding": _wan(rng)}, reason="复核更正"), actor=officer, now=now)

    def correct_milestone(db: Session) -> None:
        project = db.get(Project, hot(milestones))
        verdicts.record_milestone_check(db, project, rng.choice((0, 1)), verdicts.MilestoneCheckInput(
            "1", "2026-01-11", "复核材料", reason="复核更正"), actor=officer, now=now, today=today)

    def approve(db: Session) -> None:
        row = pick(db, Disbursement.status == "pending")
        if row is not None:
            disbursements.approve(db, row, lock=None, actor=finance, now=now)

    def pay(db: Session) -> None:
        row = pick(db, Disbursement.status == "approved")
        if row is not None:
            disbursements.mark_paid(db, row, paid_on=today.isoformat(), voucher_no=f"PZ-{uuid.uuid4().hex[:16]}",
                                    lock=None, actor=finance, today=today, now=now)

    def reverse(db: Session) -> None:
        row = pick(db, Disbursement.reversal_due.is_(True))
        if row is not None:
            disbursements.record_reversal(db, row, reversed_on=today.isoformat(),
                                          voucher_no=f"CX-{uuid.uuid4().hex[:16]}", lock=None, actor=finance,
                                          today=today, now=now)

    actions = [correct_verdict] * 3 + [correct_milestone] * 2 + [approve] * 2 + [pay] * 2 + [reverse] * 2
    while not stop.exists():
        action = rng.choice(actions)
        try:
            with session_scope(factory) as db:
                action(db)
        except AcceptanceProblems:
            pass
        except OperationalError as exc:
            if not _is_deadlock(exc):
                raise
            print(f"deadlock in {action.__name__}", file=sys.stderr, flush=True)
        time.sleep(rng.uniform(0, PAUSE))


def _work(role: str, url: str, seed: int, directory: Path) -> None:
    """A worker's life, in the forked process: its own engine, work until DIR/stop-<kind> appears."""
    engine = make_engine(url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    stop = directory / f"stop-{role.split('-')[0]}"
    if role.startswith("sweep"):
        _sweep_worker(factory, role, random.Random(seed), stop, NOW)
    else:
        _desk_worker(factory, random.Random(seed), stop, NOW)
    engine.dispose()


# --- the parent: kills and restarts (phase 2), settling (phase 3) ------------------------------------------------


@dataclass
class Worker:
    role: str
    pid: int
    pidfd: int  # readable once the process has ended (no polling)
    log: Path


@dataclass
class Figures:
    database: str
    seed: int
    kills: int = 0
    kills_by_role: Counter = field(default_factory=Counter)
    deleted: dict[str, int] = field(default_factory=dict)
    build_seconds: float = 0.0
    race_seconds: float = 0.0
    settle_seconds: float = 0.0
    check_seconds: float = 0.0
    sweep_runs: Counter = field(default_factory=Counter)  # job_runs by result; "running" = killed mid-run
    created_by_sweep: int = 0
    rows: Counter = field(default_factory=Counter)  # by status
    verdict_corrections: int = 0
    milestone_corrections: int = 0
    finance_steps: Counter = field(default_factory=Counter)  # approved, paid, reversed (audit rows)
    reversals_settled: int = 0
    deadlocks: int = 0
    findings: dict[str, list] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.build_seconds + self.race_seconds + self.settle_seconds + self.check_seconds

    @property
    def duplicates(self) -> int:
        return len(self.findings.get("duplicate_basis", [])) + len(self.findings.get("two_live_rows", []))

    def lines(self) -> list[str]:
        return [
            f"{self.database}: seed {self.seed}, {self.kills} kills {dict(sorted(self.kills_by_role.items()))}",
            f"  rows deleted before the race (missing rows): {self.deleted}",
            f"  sweep runs: {dict(sorted(self.sweep_runs.items()))} (running = killed mid-run), rows created by "
            f"sweeps: {self.created_by_sweep}",
            f"  desk: {self.verdict_corrections} verdict and {self.milestone_corrections} milestone corrections "
            f"committed; finance {dict(sorted(self.finance_steps.items()))}; {self.deadlocks} deadlocks broken by the "
            f"database; reversals left for settling: {self.reversals_settled}",
            f"  disbursement rows: {sum(self.rows.values())} {dict(sorted(self.rows.items()))}",
            f"  duplicates found: {self.duplicates}; findings: "
            f"{ {k: len(v) for k, v in self.findings.items()} }",
            f"  seconds: build {self.build_seconds:.1f}, race {self.race_seconds:.1f}, settle "
            f"{self.settle_seconds:.1f}, checks {self.check_seconds:.1f}, total {self.seconds:.1f}",
        ]


class Workers:
    """The running worker of each role, forked from this process; kills, restarts and stops them."""

    def __init__(self, url: str, directory: Path, rng: random.Random) -> None:
        self.url, self.directory, self.rng = url, directory, rng
        self.started: list[Worker] = []
        self.running = {role: self._fork(role) for role in ROLES}

    def _fork(self, role: str) -> Worker:
        log = self.directory / f"{role}-{len(self.started)}.log"
        seed = self.rng.randrange(1 << 30)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the caller (pytest, the bench)
            code = 1
            try:
                out = open(log, "w", buffering=1)  # noqa: SIM115 - lives until os._exit
                os.dup2(out.fileno(), 1)
                os.dup2(out.fileno(), 2)
                sys.stdout = sys.stderr = out
                _work(role, self.url, seed, self.directory)
                code = 0
            except BaseException:  # noqa: BLE001 - the traceback goes to the worker's log for the parent to show
                traceback.print_exc()
            finally:
                sys.stderr.flush()
                os._exit(code)
        worker = Worker(role, pid, os.pidfd_open(pid), log)
        self.started.append(worker)
        return worker

    def kill_and_restart(self, role: str, moment: float) -> None:
        """`moment` seconds from now, SIGKILL the role's worker (which must still be working), then start another."""
        victim = self.running[role]
        if _ended(victim, moment):
            raise AssertionError(f"{role} exited by itself with {_reap(victim)}:\n{_tail(victim)}")
        os.kill(victim.pid, signal.SIGKILL)
        assert _reap(victim) == -signal.SIGKILL
        self.running[role] = self._fork(role)

    def stop(self, kind: str, deadline: float) -> None:
        """Ask the running workers of a kind (desk, sweep) to finish, and wait for them (with a deadline)."""
        (self.directory / f"stop-{kind}").touch()
        for role, worker in self.running.items():
            if role.startswith(kind):
                if not _ended(worker, max(deadline - time.monotonic(), 0.1)):
                    raise AssertionError(f"{role} did not stop in time:\n{_tail(worker)}")
                code = _reap(worker)
                assert code == 0, f"{role} exited with {code}:\n{_tail(worker)}"

    def close(self) -> None:
        """Kill whatever still runs (everything, after a failure) and reap it."""
        for worker in self.started:
            if worker.pidfd >= 0:
                os.kill(worker.pid, signal.SIGKILL)
                _reap(worker)

    def count(self, text_: str) -> int:
        return sum(worker.log.read_text(errors="replace").count(text_) for worker in self.started)


def _ended(worker: Worker, timeout: float) -> bool:
    """Whether the worker's process ends within `timeout` seconds (waiting on its pidfd, not polling)."""
    readable, _, _ = wait_readable([worker.pidfd], [], [], timeout)
    return bool(readable)


def _reap(worker: Worker) -> int:
    """The ended process's exit code (-9 after SIGKILL)."""
    _pid, status = os.waitpid(worker.pid, 0)
    os.close(worker.pidfd)
    worker.pidfd = -1
    return os.waitstatus_to_exitcode(status)


def _tail(worker: Worker) -> str:
    return worker.log.read_text(errors="replace")[-3000:]


def run_scenario(url: str, directory: Path, *, kills: int, seed: int) -> Figures:
    """Phases 1–4 against `url` (a fresh database); returns the figures and what the checks found."""
    rng = random.Random(seed)
    figures = Figures(make_url(url).get_backend_name(), seed)
    started = time.monotonic()
    figures.deleted = build_world(url, directory, rng)
    figures.build_seconds = time.monotonic() - started

    # Phase 2: the race, with a random worker killed at a random moment and restarted. The children never touch
    # this process's connections (build_world disposed of its engine; the suite's, if any, stay the parent's) and
    # leave through os._exit.
    started = time.monotonic()
    workers = Workers(url, directory, rng)
    try:
        for _ in range(kills):
            role = rng.choice(ROLES)
            workers.kill_and_restart(role, moment=rng.uniform(0.05, KILL_WITHIN))
            figures.kills += 1
            figures.kills_by_role[role.split("-")[0]] += 1
        figures.race_seconds = time.monotonic() - started

        # Phase 3: the desk stops; finance records the reversals still due; the sweepers each finish a run begun
        # after that, then stop.
        started = time.monotonic()
        deadline = started + SETTLE_TIMEOUT
        workers.stop("desk", deadline)
        figures.reversals_settled = _settle_reversals(url)
        workers.stop("sweep", deadline)
        figures.settle_seconds = time.monotonic() - started
    finally:
        workers.close()
    figures.deadlocks = workers.count("deadlock in")

    # Phase 4: the checks.
    started = time.monotonic()
    check(url, figures)
    figures.check_seconds = time.monotonic() - started
    return figures


def _settle_reversals(url: str) -> int:
    """Finance records every reversal still due (a paid tranche whose basis was corrected), as the desk would."""
    engine = make_engine(url)
    try:
        with session_scope(sessionmaker(bind=engine, expire_on_commit=False)) as db:
            finance = Actor.of(db.scalar(select(User).where(User.username == FINANCE)))
            rows = db.scalars(select(Disbursement).where(Disbursement.reversal_due.is_(True))).all()
            for row in rows:
                disbursements.record_reversal(db, row, reversed_on=NOW.date().isoformat(),
                                              voucher_no=f"CX-settle-{row.id}", lock=None, actor=finance,
                                              today=NOW.date(), now=NOW)
            return len(rows)
    finally:
        engine.dispose()


# --- the checks (phase 4) -----------------------------------------------------------------------------------------


def check(url: str, figures: Figures) -> None:
    """Fill figures.findings: every list empty means G23 holds."""
    engine = make_engine(url)
    findings: dict[str, list] = defaultdict(list)
    with sessionmaker(bind=engine)() as db:
        rows = db.scalars(select(Disbursement).order_by(Disbursement.id)).all()
        projects = {p.id: p for p in db.scalars(select(Project))}
        figures.rows = Counter(row.status for row in rows)

        # The bases in force: the newest verdict of each post-subsidy project (通过 → its amount, otherwise its
        # refusal), the newest check of each milestone when it passed.
        expected: dict[tuple[int, str], str] = {}
        for verdict in db.scalars(select(AcceptanceVerdict).order_by(AcceptanceVerdict.id)):
            if not projects[verdict.project_id].is_milestone_funded:
                expected[(verdict.project_id, PROJECT_TRANCHE)] = f"verdict:{verdict.id}"
        newest_checks: dict[tuple[int, str], MilestoneCheck] = {}
        for check_row in db.scalars(select(MilestoneCheck).order_by(MilestoneCheck.id)):
            newest_checks[(check_row.project_id, milestone_tranche(check_row.position))] = check_row
        for key, check_row in newest_checks.items():
            if check_row.passed:
                expected[key] = f"milestone_check:{check_row.id}"
        assert len(expected) == POST_PROJECTS + 2 * MILESTONE_PROJECTS

        live: dict[tuple[int, str], list[Disbursement]] = defaultdict(list)
        for row in rows:
            if row.status in LIVE:
                live[(row.project_id, row.tranche)].append(row)
        for key, basis in sorted(expected.items()):
            found = live.get(key, [])
            if not found:
                findings["missing"].append((projects[key[0]].code, key[1], basis))
            elif len(found) > 1:
                findings["two_live_rows"].append((projects[key[0]].code, key[1], [r.id for r in found]))
            elif found[0].basis != basis:  # a live row computed from a superseded verdict or check
                findings["stale_basis"].append((projects[key[0]].code, key[1], found[0].id, found[0].basis, basis))
        findings["unexpected_live"] = [(projects[k[0]].code, k[1], [r.id for r in v]) for k, v in live.items()
                                       if k not in expected]
        findings["duplicate_basis"] = [tuple(r) for r in db.execute(
            select(Disbursement.project_id, Disbursement.tranche, Disbursement.basis, func.count())
            .group_by(Disbursement.project_id, Disbursement.tranche, Disbursement.basis)
            .having(func.count() > 1))]

        owed: dict[int, Decimal] = defaultdict(Decimal)
        for row in rows:
            if row.amount is not None:
                if type(row.amount) is not Decimal:
                    findings["not_decimal"].append((row.id, type(row.amount).__name__))
                elif row.amount != row.amount.to_integral_value() or row.amount < 0:
                    findings["not_whole_yuan"].append((row.id, str(row.amount)))
            if row.status in OWED and row.amount is not None:
                owed[row.project_id] += row.amount
        findings["over_award"] = [(projects[pid].code, str(total), str(projects[pid].fiscal_funding))
                                  for pid, total in sorted(owed.items()) if total > projects[pid].fiscal_funding]
        # What the driver itself returns for the column (the model's Money type aside): a whole number of yuan.
        for row_id, raw in db.execute(text("SELECT id, amount FROM disbursements WHERE amount IS NOT NULL")):
            value = Decimal(str(raw))
            if value != value.to_integral_value():
                findings["raw_not_whole_yuan"].append((row_id, repr(raw)))

        # Every row was audited when it was created (ids may repeat on SQLite after phase 1's deletion: the basis
        # tells the rows apart).
        created = {(entry.object_id, json.loads(entry.after)["basis"]) for entry in db.scalars(
            select(AuditEntry).where(AuditEntry.action == "disbursement_created"))}
        findings["not_audited"] = [row.id for row in rows if (str(row.id), row.basis) not in created]
        findings["audit_chain"] = [(p.entry_id, p.reason) for p in verify_chain(db)]

        runs = db.execute(select(JobRun.result, JobRun.counts).where(JobRun.job == "disbursements")).all()
        figures.sweep_runs = Counter(result for result, _counts in runs)
        figures.created_by_sweep = sum((counts or {}).get("created", 0) for _result, counts in runs)
        # A sweep the database chose as a deadlock's victim rolled back whole (counted); any other failure is one.
        errors = db.scalars(select(JobRun.error).where(JobRun.job == "disbursements",
                                                           JobRun.result == "failed")).all()
        figures.deadlocks += sum("deadlock detected" in error for error in errors)
        findings["failed_sweeps"] = [error[-300:] for error in errors if "deadlock detected" not in error]
        figures.verdict_corrections = db.scalar(select(func.count()).select_from(AcceptanceVerdict).where(
            AcceptanceVerdict.supersedes_id.is_not(None)))
        figures.milestone_corrections = db.scalar(select(func.count()).select_from(MilestoneCheck).where(
            MilestoneCheck.supersedes_id.is_not(None)))
        figures.finance_steps = Counter({action.removeprefix("disbursement_"): n for action, n in db.execute(
            select(AuditEntry.action, func.count()).where(AuditEntry.action.in_(
                ["disbursement_approved", "disbursement_paid", "disbursement_reversed"]))
            .group_by(AuditEntry.action))})
    engine.dispose()
    figures.findings = {k: v for k, v in findings.items() if v}


# --- the test -----------------------------------------------------------------------------------------------------


def test_killed_trigger_and_sweep_processes_leave_exactly_one_disbursement_per_tranche(tmp_path):
    url = fresh_database(configured_database_url(), tmp_path, os.environ.get("PYTEST_XDIST_WORKER", "main"))
    figures = run_scenario(url, tmp_path, kills=KILLS, seed=SEED)
    report = "\n".join(figures.lines())
    print(report)
    assert figures.kills == KILLS
    assert figures.deleted == {"project": POST_PROJECTS, "milestone": 2 * MILESTONE_PROJECTS}
    assert figures.findings == {}, report + f"\n{figures.findings}"
    assert figures.created_by_sweep >= POST_PROJECTS + 2 * MILESTONE_PROJECTS  # the sweeps repaired phase 1's loss
    assert figures.verdict_corrections and figures.milestone_corrections  # the trigger ran beside the sweeps
    drop_database(url)



# --- two interleavings the random race rarely meets (PostgreSQL) ---------------------------------------------------
#
# On SQLite every writer, the sweep included, holds the database's write lock for its whole transaction (BEGIN
# IMMEDIATE): neither can happen there. On PostgreSQL (READ COMMITTED) writers queue behind each other only from
# their first write (the data generation's row, then the audit chain's advisory lock). The trigger writes the
# verdict or check, and so queues, before it computes; the sweep reads what is missing and computes the amount
# before its first write, so it decides on what it read before another transaction committed. Each test forces one
# such interleaving with two sessions in this process. Both failed until the sweep, on PostgreSQL, took those two
# locks before it reads (`SELECT … FROM data_generation WHERE id = 1 FOR UPDATE`, then the audit lock), as SQLite's
# BEGIN IMMEDIATE already makes it do.

needs_postgresql = pytest.mark.skipif(not configured_database_url().startswith("postgresql"),
                                      reason="an interleaving SQLite's write lock rules out")


def _interleaving_world(tmp_path):
    url = fresh_database(configured_database_url(), tmp_path, f"il_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
    engine = make_engine(url)
    upgrade_database(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    db = factory()  # the building session: the caller closes it
    officer = build.officer(db, username=OFFICER)
    finance = accounts.create_user(db, username=FINANCE, password=None, role=Role.FINANCE, now=NOW,
                                   email="g23-finance@example.org", actor=build.SYSTEM)
    db.commit()
    return url, engine, factory, db, officer, Actor.of(officer), Actor.of(finance)


def _sweep_in_thread(factory, name: str = "sweep") -> tuple[threading.Thread, dict]:
    result: dict = {}

    def run() -> None:
        try:
            with session_scope(factory) as db:
                result["counts"] = disbursements.sweep(db, NOW)
        except BaseException as exc:  # noqa: BLE001 - shown by the test
            result["error"] = exc

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread, result


@needs_postgresql
def test_a_sweep_and_a_milestone_check_at_once_stay_within_the_award(tmp_path):
    """Both tranches of a 里程碑式 project lack a row (an older database); the officer corrects milestone 2's check
    (its trigger computes 617,284 yuan: milestone 1 has no row) while the sweep creates milestone 1's (617,284 too:
    milestone 2's new row is not committed). Serially the second tranche takes 617,283, and Σ is the award."""
    url, engine, factory, db, officer, officer_actor, _finance = _interleaving_world(tmp_path)
    with db:
        document = build.guideline(db, officer=officer)
        project = build.project(db, guideline=document, direction=build.MILESTONES_PATH, code="G23-IL-M",
                                officer=officer, months=24, fiscal=Decimal(1_234_567),
                                targets=[{"category": "performance_metric", "metric": "续航里程", "op": ">=",
                                          "value": "500", "unit": "km", "kind": "level"}])
        for position in (0, 1):
            verdicts.record_milestone_check(db, project, position, verdicts.MilestoneCheckInput(
                "1", "2026-01-10", "检测报告"), actor=officer_actor, now=NOW, today=build.TODAY)
        db.commit()
        db.execute(Disbursement.__table__.delete())
        db.commit()
    officer_db = factory()
    verdicts.record_milestone_check(officer_db, officer_db.get(Project, project.id), 1, verdicts.MilestoneCheckInput(
        "1", "2026-01-11", "复核材料", reason="复核更正"), actor=officer_actor, now=NOW, today=build.TODAY)
    officer_db.flush()  # milestone 2's row is written, the audit lock held; nothing committed yet
    thread, result = _sweep_in_thread(factory)
    deadline = time.monotonic() + 30
    with engine.connect() as probe:  # poll with a deadline until the sweep waits for the officer's transaction
        while True:
            waiting = probe.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                        "AND wait_event_type = 'Lock'"))
            probe.rollback()  # pg_stat_activity is read once per transaction
            if waiting:
                break
            assert time.monotonic() < deadline and thread.is_alive(), result
    officer_db.commit()
    officer_db.close()
    thread.join(30)
    assert "error" not in result, result
    with factory() as db:
        live = [row for row in disbursements.of_project(db, db.get(Project, project.id)) if row.status in OWED]
        total = sum(row.amount for row in live)
    engine.dispose()
    drop_database(url)
    assert len(live) == 2 and total <= Decimal(1_234_567), [(r.tranche, r.basis, r.amount) for r in live]


@needs_postgresql
def test_a_sweep_never_creates_the_row_of_a_verdict_corrected_while_it_ran(tmp_path, monkeypatch):
    """A paid tranche; the verdict corrected (V1: its row waits for the reversal). A sweep reads the verdicts (V1 the
    newest) and, while it works through the projects before this one, the officer corrects again (V2, its row
    waiting too) and finance records the reversal. Reaching the project, the sweep must not create V1's row."""
    url, engine, factory, db, officer, officer_actor, finance = _interleaving_world(tmp_path)
    with db:
        project = build.project(db, code="G23-IL-P", officer=officer, confirmed=True)
        application = build.application(db, project, store=EvidenceStore(tmp_path / "evidence"))
        expert = build.expert(db, username="g23-il-expert")
        build.meeting(db, [application], [expert], by=officer)
        build.check(db, application, expert)
        verdicts.record_verdict(db, application, verdicts.VerdictInput(
            "passed", "专家组意见", {"certified_self_funding": "100"}), actor=officer_actor, now=NOW)
        first = disbursements.live_row(db, project, PROJECT_TRANCHE)
        disbursements.approve(db, first, lock=None, actor=finance, now=NOW)
        disbursements.mark_paid(db, first, paid_on=NOW.date().isoformat(), voucher_no="PZ-IL-1", lock=None,
                                actor=finance, today=NOW.date(), now=NOW)
        db.commit()
        verdicts.record_verdict(db, application_of(db, project), verdicts.VerdictInput(
            "passed", "专家组意见", {"certified_self_funding": "200"}, reason="更正一"), actor=officer_actor, now=NOW)
        db.commit()

    reached, resume = threading.Event(), threading.Event()
    live_row = disbursements.live_row

    def slow_live_row(db, of_project, tranche):  # the sweep, about to look at this project, is slow
        if threading.current_thread().name == "sweep" and of_project.id == project.id:
            reached.set()
            resume.wait(10)
        return live_row(db, of_project, tranche)

    monkeypatch.setattr(disbursements, "live_row", slow_live_row)
    thread, result = _sweep_in_thread(factory)
    assert reached.wait(30), result
    with session_scope(factory) as db:
        newest = verdicts.record_verdict(db, application_of(db, db.get(Project, project.id)), verdicts.VerdictInput(
            "passed", "专家组意见", {"certified_self_funding": "300"}, reason="更正二"), actor=officer_actor, now=NOW)
    with session_scope(factory) as db:
        disbursements.record_reversal(db, db.get(Disbursement, first.id), reversed_on=NOW.date().isoformat(),
                                      voucher_no="CX-IL-1", lock=None, actor=finance, today=NOW.date(), now=NOW)
    resume.set()
    thread.join(30)
    monkeypatch.undo()
    assert "error" not in result, result
    with session_scope(factory) as db:
        disbursements.sweep(db, NOW)  # the next run
    with factory() as db:
        row = disbursements.live_row(db, db.get(Project, project.id), PROJECT_TRANCHE)
        found = (row.basis, row.amount)
    engine.dispose()
    drop_database(url)
    assert found == (f"verdict:{newest.id}", Decimal("300000.00")), found  # 300万 × 10% = 30万 (the cap)
