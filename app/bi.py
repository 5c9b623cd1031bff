"""Read-only PostgreSQL roles for BI tools, one per workspace (docs/bi-tools.md).

A role named ``commattr_bi_<database>_ws_<workspace id>`` may SELECT the views ``bi_credits``,
``bi_opportunities`` and ``bi_touchpoints`` and nothing else; the views (migration bi_views) show it
the rows of that workspace only. Only a role with CREATEROLE can make or rename roles, so the name is
a binding a BI user cannot forge; the database name in it keeps roles of several databases on one
server apart (roles are server-wide, grants are not).

The password is sent as a SCRAM-SHA-256 verifier computed here, so the plain text never reaches the
server or its statement log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from app.exceptions import AppError, NotFound

ROLE_PREFIX = "commattr_bi_"
VIEWS = ("bi_credits", "bi_opportunities", "bi_touchpoints")
SCRAM_ITERATIONS = 4096
_MAX_IDENTIFIER = 63  # PostgreSQL truncates longer names, which would then match no workspace
_VERIFIER = re.compile(r"^SCRAM-SHA-256\$[0-9]+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$")


class BiRoleError(AppError):
    status_code = 409


@dataclass(frozen=True)
class BiRole:
    name: str
    workspace_id: int


def database_tag(database: str) -> str:
    """The database name as it appears in role names (the views compute the same)."""
    return re.sub(r"[^a-z0-9]+", "_", database.lower())


def role_name(database: str, workspace_id: int) -> str:
    return f"{ROLE_PREFIX}{database_tag(database)}_ws_{workspace_id}"


def generate_password() -> str:
    return secrets.token_urlsafe(24)


def scram_verifier(
    password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS
) -> str:
    """What PostgreSQL stores for a SCRAM-SHA-256 password (RFC 5802, RFC 7677); passwords are
    taken as they are, without SASLprep, which leaves the ASCII of ``generate_password`` unchanged."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _require_postgresql(connection: Connection) -> None:
    if connection.dialect.name != "postgresql":
        raise BiRoleError(
            "read-only BI roles need PostgreSQL; on SQLite, BI tools read the database file or "
            "the CSV exports",
            status_code=400,
        )


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote_identifier(name)


def _database(connection: Connection) -> str:
    return str(connection.execute(text("SELECT current_database()")).scalar_one())


def create_bi_role(engine: Engine, workspace_id: int, password: str) -> str:
    """Create the workspace's BI role, or give the existing one a new password; answer its name.

    The role can log in and SELECT the three views; its transactions are read-only by default."""
    with engine.begin() as connection:
        _require_postgresql(connection)
        exists = connection.execute(
            text("SELECT 1 FROM workspace WHERE id = :id"), {"id": workspace_id}
        ).first()
        if exists is None:
            raise NotFound(f"workspace {workspace_id} not found")
        name = role_name(_database(connection), workspace_id)
        if len(name.encode()) > _MAX_IDENTIFIER:
            raise BiRoleError(f"role name {name} is longer than PostgreSQL's 63 bytes")
        quoted = _quote(connection, name)
        verifier = scram_verifier(password)
        if not _VERIFIER.match(verifier):  # it goes into the statement as a literal
            raise BiRoleError("unexpected SCRAM verifier")
        role = connection.execute(
            text(
                "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls"
                " OR EXISTS (SELECT 1 FROM pg_auth_members WHERE member = pg_roles.oid)"
                " FROM pg_roles WHERE rolname = :name"
            ),
            {"name": name},
        ).first()
        if role is None:
            connection.exec_driver_sql(
                f"CREATE ROLE {quoted} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                f"NOINHERIT NOREPLICATION NOBYPASSRLS PASSWORD '{verifier}'"
            )
        elif role[0]:
            raise BiRoleError(
                f"role {name} exists with more than read-only rights: drop it or rename it first"
            )
        else:
            connection.exec_driver_sql(f"ALTER ROLE {quoted} WITH LOGIN PASSWORD '{verifier}'")
        connection.exec_driver_sql(f"ALTER ROLE {quoted} SET default_transaction_read_only = on")
        connection.exec_driver_sql(f"GRANT SELECT ON {', '.join(VIEWS)} TO {quoted}")
        _grant_reach(connection, name, quoted)
    return name


def _grant_reach(connection: Connection, name: str, quoted: str) -> None:
    """CONNECT on the database and USAGE on the views' schema, where PUBLIC no longer has them."""
    can_connect, can_use, schema = connection.execute(
        text(
            "SELECT has_database_privilege(:role, current_database(), 'CONNECT'),"
            " has_schema_privilege(:role, current_schema(), 'USAGE'), current_schema()"
        ),
        {"role": name},
    ).one()
    if not can_connect:
        database = _quote(connection, _database(connection))
        connection.exec_driver_sql(f"GRANT CONNECT ON DATABASE {database} TO {quoted}")
    if not can_use:
        connection.exec_driver_sql(
            f"GRANT USAGE ON SCHEMA {_quote(connection, schema)} TO {quoted}"
        )


def drop_bi_role(engine: Engine, workspace_id: int) -> str | None:
    """Revoke everything the workspace's BI role holds here and drop it; None when there is none."""
    with engine.begin() as connection:
        _require_postgresql(connection)
        name = role_name(_database(connection), workspace_id)
        exists = connection.execute(
            text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": name}
        ).first()
        if exists is None:
            return None
        quoted = _quote(connection, name)
        connection.exec_driver_sql(f"DROP OWNED BY {quoted}")
        connection.exec_driver_sql(f"DROP ROLE {quoted}")
    return name


def list_bi_roles(engine: Engine) -> list[BiRole]:
    """The BI roles of this database, by workspace."""
    with engine.connect() as connection:
        _require_postgresql(connection)
        prefix = f"{ROLE_PREFIX}{database_tag(_database(connection))}_ws_"
        names = connection.execute(
            text("SELECT rolname FROM pg_roles WHERE starts_with(rolname, :prefix)"),
            {"prefix": prefix},
        ).scalars()
        roles = [
            BiRole(name=name, workspace_id=int(name.removeprefix(prefix)))
            for name in names
            if re.fullmatch(r"[0-9]+", name.removeprefix(prefix))
        ]
    return sorted(roles, key=lambda role: role.workspace_id)
