"""Read-only BI roles on PostgreSQL: a workspace's role reads its own rows through the views and
nothing else; every other role reads no rows through them."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, text

from app import bi
from app.config import Settings
from app.db import build_engine
from app.exceptions import NotFound
from tests.exports.conftest import BiLogin, Workspaces, connect_as

BASE_TABLES = (
    "credit",
    "run_opportunity",
    "attribution_run",
    "opportunity",
    "account",
    "touchpoint",
    "member",
    "activity_type",
    "program",
    "workspace",
    "api_key",
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = build_engine(Settings(database_url=database_url))
    yield engine
    engine.dispose()


@pytest.fixture
def postgresql(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("roles and grants are PostgreSQL's")


def count_as_app(engine: Engine, view: str, workspace_id: int) -> int:
    table = {"bi_credits": "credit", "bi_opportunities": "run_opportunity"}.get(view, "touchpoint")
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(f"SELECT count(*) FROM {table} WHERE workspace_id = :w"), {"w": workspace_id}
            ).scalar_one()
        )


@pytest.mark.usefixtures("postgresql")
def test_a_workspace_role_sees_exactly_its_own_rows(
    workspaces: Workspaces, bi_logins: dict[int, BiLogin], database_url: str, engine: Engine
) -> None:
    golden, small = workspaces.golden.workspace_id, workspaces.small.workspace_id
    for mine, theirs in ((golden, small), (small, golden)):
        login = bi_logins[mine]
        with connect_as(database_url, login.role, login.password) as connection:
            for view in bi.VIEWS:
                rows = connection.execute(f"SELECT workspace_id FROM {view}").fetchall()
                assert len(rows) == count_as_app(engine, view, mine) > 0
                assert {row[0] for row in rows} == {mine}
                asked = connection.execute(
                    f"SELECT count(*) FROM {view} WHERE workspace_id = %s",
                    (theirs,),
                ).fetchone()
                assert asked == (0,)


@pytest.mark.usefixtures("postgresql")
def test_a_role_cannot_read_the_tables_under_the_views(
    workspaces: Workspaces, bi_logins: dict[int, BiLogin], database_url: str
) -> None:
    login = bi_logins[workspaces.golden.workspace_id]
    with connect_as(database_url, login.role, login.password) as connection:
        for table in BASE_TABLES:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                connection.execute(f"SELECT 1 FROM {table} LIMIT 1")
        assert connection.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        # PUBLIC may create temporary tables; a read-only transaction may not
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            connection.execute("CREATE TEMPORARY TABLE scratch (n integer)")


@pytest.mark.usefixtures("postgresql")
def test_a_leaky_function_only_ever_sees_the_roles_own_rows(
    workspaces: Workspaces, bi_logins: dict[int, BiLogin], database_url: str
) -> None:
    # Without a security barrier the planner would run this cheap function on every touchpoint
    # before the workspace filter, and its notices would print other workspaces' rows.
    login = bi_logins[workspaces.golden.workspace_id]
    seen: list[str] = []
    with connect_as(database_url, login.role, login.password) as connection:
        connection.add_notice_handler(lambda notice: seen.append(notice.message_primary or ""))
        with connection.transaction():
            connection.execute("SET TRANSACTION READ WRITE")
            # as an attacker would: no index scan applies the workspace filter first
            connection.execute("SET LOCAL enable_indexscan = off")
            connection.execute("SET LOCAL enable_bitmapscan = off")
            connection.execute(
                "CREATE FUNCTION pg_temp.leak(value text) RETURNS boolean LANGUAGE plpgsql"
                " COST 0.0000001 AS $$ BEGIN RAISE NOTICE '%', value; RETURN true; END $$"
            )
            for view in ("bi_credits", "bi_touchpoints"):
                connection.execute(
                    f"SELECT count(*) FROM {view} WHERE pg_temp.leak(touchpoint_external_id)"
                )
    assert seen
    assert not [value for value in seen if value.startswith("b-")]


@pytest.mark.usefixtures("postgresql")
def test_other_roles_see_no_rows_through_the_views(
    workspaces: Workspaces, database_url: str, engine: Engine
) -> None:
    # the app's own role (here a superuser) reads the tables, not the views
    with engine.connect() as connection:
        for view in bi.VIEWS:
            assert connection.execute(text(f"SELECT count(*) FROM {view}")).scalar_one() == 0
    # a role named for another database of the server matches no workspace here, even if granted
    stranger = f"commattr_bi_another_db_ws_{workspaces.golden.workspace_id}"
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE ROLE {stranger} LOGIN")
        connection.exec_driver_sql(f"GRANT SELECT ON {', '.join(bi.VIEWS)} TO {stranger}")
    try:
        with connect_as(database_url, stranger, "") as connection:
            for view in bi.VIEWS:
                assert connection.execute(f"SELECT count(*) FROM {view}").fetchone() == (0,)
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP OWNED BY {stranger}")
            connection.exec_driver_sql(f"DROP ROLE {stranger}")


def stored_verifier(engine: Engine, role: str) -> str:
    with engine.connect() as connection:
        return str(
            connection.execute(
                text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": role}
            ).scalar_one()
        )


def verifies(verifier: str, password: str) -> bool:
    iterations_salt = verifier.split("$")[1]
    iterations, salt = iterations_salt.split(":")
    return (
        bi.scram_verifier(password, salt=base64.b64decode(salt), iterations=int(iterations))
        == verifier
    )


@pytest.mark.usefixtures("postgresql")
def test_create_again_sets_a_new_password_and_drop_removes_the_role(
    workspaces: Workspaces, engine: Engine
) -> None:
    workspace_id = workspaces.empty.workspace_id
    with engine.connect() as connection:
        database = connection.exec_driver_sql("SELECT current_database()").scalar_one()
    role = bi.create_bi_role(engine, workspace_id, "first-password")
    try:
        assert role == bi.role_name(database, workspace_id)
        assert verifies(stored_verifier(engine, role), "first-password")
        assert bi.create_bi_role(engine, workspace_id, "second-password") == role
        assert verifies(stored_verifier(engine, role), "second-password")
        assert bi.BiRole(role, workspace_id) in bi.list_bi_roles(engine)
    finally:
        assert bi.drop_bi_role(engine, workspace_id) == role
    assert bi.drop_bi_role(engine, workspace_id) is None
    assert all(r.workspace_id != workspace_id for r in bi.list_bi_roles(engine))


@pytest.mark.usefixtures("postgresql")
def test_a_privileged_role_of_that_name_is_not_taken_over(
    workspaces: Workspaces, engine: Engine
) -> None:
    workspace_id = workspaces.empty.workspace_id
    with engine.connect() as connection:
        role = bi.role_name(
            connection.exec_driver_sql("SELECT current_database()").scalar_one(), workspace_id
        )
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE ROLE {role} LOGIN CREATEDB")
    try:
        with pytest.raises(bi.BiRoleError, match="more than read-only"):
            bi.create_bi_role(engine, workspace_id, "pw")
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP ROLE {role}")


@pytest.mark.usefixtures("postgresql")
def test_a_role_needs_an_existing_workspace(engine: Engine) -> None:
    with pytest.raises(NotFound):
        bi.create_bi_role(engine, 10**9, "pw")


def test_sqlite_has_no_roles(backend: str, engine: Engine) -> None:
    if backend != "sqlite":
        pytest.skip("the SQLite answer")
    with pytest.raises(bi.BiRoleError, match="need PostgreSQL") as raised:
        bi.create_bi_role(engine, 1, "pw")
    assert raised.value.status_code == 400


def test_role_names_carry_the_database_and_the_workspace() -> None:
    assert bi.role_name("commattr", 7) == "commattr_bi_commattr_ws_7"
    assert bi.role_name("Prod-DB.eu", 12) == "commattr_bi_prod_db_eu_ws_12"


def test_the_scram_verifier_follows_rfc_7677() -> None:
    # RFC 7677 section 3: user "user", password "pencil"; the server's signature of the exchange
    # proves the server key, and the client's proof the stored key
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    verifier = bi.scram_verifier("pencil", salt=salt, iterations=4096)
    head, keys = verifier.rsplit("$", 1)
    assert head == "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ=="
    stored_key, server_key = (base64.b64decode(k) for k in keys.split(":"))
    nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    auth_message = (
        f"n=user,r=rOprNGfwEbeRWgbNEkqO,r={nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
        f"c=biws,r={nonce}"
    ).encode()
    server_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
    assert base64.b64encode(server_signature).decode() == (
        "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    )
    proof = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    client_signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    client_key = bytes(a ^ b for a, b in zip(proof, client_signature, strict=True))
    assert hashlib.sha256(client_key).digest() == stored_key
