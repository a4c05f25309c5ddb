"""Engine, sessions and column types shared by every model.

SQLite (the embedded default) gets WAL, foreign keys and a busy timeout on every connection, and its
transactions start with BEGIN IMMEDIATE so that two writers queue on the busy timeout instead of failing
when a read transaction tries to upgrade. PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, Numeric, Table, create_engine, event, insert, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which has no time zones) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """Yuan as Numeric(16,2) Decimal (DESIGN §2): never a float, rounded half-up to the fen on the way in."""

    impl = Numeric(16, 2, asdecimal=True)
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | None, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be Decimal, not float")
        return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(Decimal("0.01"))


def make_engine(url: str, **kwargs: Any) -> Engine:
    # A failed statement's message leaves out its parameters: they are what users typed (and the log keeps them).
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15}, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (needed for SAVEPOINTs and
        # BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock up front and queue on the busy timeout; readers start a plain read
        # transaction so that page views never wait for each other (WAL lets them read beside a writer).
        if connection.get_execution_options().get(WRITE_OPTION):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


WRITE_OPTION = "tracker_write"


def mark_for_writing(session: Session) -> None:
    """Before its first query: this unit of work writes. On SQLite each of its transactions starts with BEGIN
    IMMEDIATE, also those after a commit (the outbox sender commits each mail, the test builders as they go): a
    transaction begun as a reader fails at once with "database is locked" when it comes to write after another
    connection has written, where a writer from the start queues on the busy timeout."""
    bind = session.get_bind()
    if isinstance(bind, Engine) and not bind.get_execution_options().get(WRITE_OPTION):
        session.bind = bind.execution_options(**{WRITE_OPTION: True})
    session.connection(execution_options={WRITE_OPTION: True})


def refresh_statistics(session: Session) -> None:
    """Let the query planner see how the tables look now (after a bulk load, and hourly): without them SQLite
    picks the project list's programme index and sorts every project instead of reading the list's own index in
    order. Cheap: a fraction of a second at 10,000 projects."""
    session.execute(text("ANALYZE"))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        mark_for_writing(session)
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class BulkInsert:
    """An INSERT of many rows handed to the driver's executemany with values already converted.

    SQLAlchemy converts every value of every row through its column's type, serializing JSON again each time.
    Bulk imports store the same few values in thousands of rows (a direction's rules, the targets it gives every
    project): they convert a value once (`row`, with JSON documents converted once per object for the call) and
    reuse it (`replace`), and the INSERT costs what the database spends. Columns left out get their scalar
    default, as in SQLAlchemy; no ids come back."""

    def __init__(self, db: Session, table: Table, keys: Sequence[str]) -> None:
        self.db, self.table = db, table
        dialect = db.get_bind().dialect
        compiled = insert(table).inline().compile(dialect=dialect, column_keys=list(keys))
        self.sql = compiled.string
        self.positional = compiled.positional
        self.names: list[str] = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
        self.defaults: dict[str, Any] = {}
        for name in self.names:
            column = table.c[name]  # a bind named otherwise than its column would be a KeyError here
            if name not in keys:
                if column.default is None or not column.default.is_scalar:
                    raise ValueError(f"{table.name}.{name}: give a value (no scalar default)")
                self.defaults[name] = column.default.arg
        self._processors = {name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                            for name in self.names}
        self._index = {name: index for index, name in enumerate(self.names)}
        self._documents: dict[tuple[str, int], Any] = {}
        self._keep: list[Any] = []  # the documents converted, so that their ids stay theirs during the call

    def _convert(self, name: str, value: Any) -> Any:
        processor = self._processors[name]
        if processor is None:
            return value
        if isinstance(value, dict | list):
            key = (name, id(value))
            if key not in self._documents:
                self._documents[key] = processor(value)
                self._keep.append(value)
            return self._documents[key]
        return processor(value)

    def row(self, values: Mapping[str, Any]) -> Any:
        """One row for `execute`: a tuple or a dict, as the driver's parameter style wants."""
        if len(values) > len(self.names) - len(self.defaults):
            raise ValueError(f"{self.table.name}: values for columns not given to BulkInsert")
        converted = [self._convert(name, values[name] if name in values else self.defaults[name])
                     for name in self.names]
        return tuple(converted) if self.positional else dict(zip(self.names, converted, strict=True))

    def replace(self, row: Any, name: str, value: Any) -> Any:
        """A copy of a converted row with one value changed (`value` converted here)."""
        value = self._convert(name, value)
        if not self.positional:
            return {**row, name: value}
        index = self._index[name]
        return row[:index] + (value,) + row[index + 1:]

    def execute(self, rows: list[Any]) -> None:
        if rows:
            self.db.connection().exec_driver_sql(self.sql, rows)


class DatabaseUnavailable(RuntimeError):
    """The database URL cannot be reached; carries a message for the operator."""


def check_connection(engine: Engine) -> None:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any driver error means "cannot reach"
        url = engine.url.render_as_string(hide_password=True)
        raise DatabaseUnavailable(f"无法连接数据库 {url}：{type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
