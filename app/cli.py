"""`commattr`: serve, worker, migrate, demo, create-workspace, create-key, api-key, bi-role, healthcheck,
openapi.

Every command reads its settings first: a wrong one stops it with one line naming the setting."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, NoReturn

import httpx
import typer
import uvicorn
from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app import bi, rls
from app import migrate as migrations
from app.audit import service as audit
from app.auth import repository as auth_repository
from app.auth import service as keys
from app.auth.service import mint_key
from app.clock import system_clock
from app.config import Settings
from app.db import build_engine, build_sessionmaker, transaction
from app.edge.redaction import redact_text
from app.exceptions import AppError
from app.main import create_app
from app.observability.logging import configure_logging, logging_config
from app.observability.metrics import MULTIPROCESS_VARIABLE
from app.progress import progress
from app.workspaces.service import create_workspace, get_workspace

cli = typer.Typer(help="community-attribution: community-influenced pipeline and revenue.")

DATABASE_SETTING = "COMMATTR_DATABASE_URL"
WORKER_START_SECONDS = 120
log = logging.getLogger("commattr")


def fail(message: str, code: int = 2) -> NoReturn:
    """Stop the command with one line on standard error, no traceback."""
    typer.echo(f"commattr: {message}", err=True)
    raise typer.Exit(code)


def reason(error: BaseException) -> str:
    """The first line of what went wrong (a driver's own message for database errors)."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    return redact_text(f"{type(cause).__name__}: {text}"[:300])


def load_settings() -> Settings:
    """The settings, or one line naming the first wrong one."""
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "?"
        fail(f"setting COMMATTR_{name.upper()} is wrong: {first['msg']}")
    except SettingsError as error:  # a list or map setting that is not JSON
        field = re.search(r'field "(\w+)"', str(error))
        name = field.group(1).upper() if field else "?"
        fail(f"setting COMMATTR_{name} is wrong: not a JSON value")


def owner_settings() -> Settings:
    """The settings with the URL of the tables' owner (COMMATTR_MIGRATION_DATABASE_URL, when it is
    set): every command but `serve` works as the owner, which row-level security does not hold."""
    return load_settings().as_owner()


def open_engine(settings: Settings) -> Engine:
    try:
        return build_engine(settings)
    except Exception as error:  # an unusable URL or a missing driver, said once and plainly
        fail(f"setting {DATABASE_SETTING} is wrong: {reason(error)}")


def reachable_engine(settings: Settings) -> Engine:
    """An engine whose database answers now, or one line saying why not."""
    engine = open_engine(settings)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except Exception as error:  # any failure to reach the database stops the process at start
        engine.dispose()
        fail(f"cannot reach the database of {DATABASE_SETTING}: {reason(error)}")
    return engine


def data_file(settings: Settings, name: str) -> Path:
    return settings.data_dir / name


def demo_key_file(settings: Settings) -> Path:
    return data_file(settings, "demo-api-key")


@cli.command()
def migrate() -> None:
    """Upgrade the database to the newest schema (creating it in an empty database)."""
    settings = owner_settings()
    engine = reachable_engine(settings)
    try:
        with progress() as report:
            done = migrations.upgrade(
                engine, on_step=lambda _revision, step, steps: report("migrations", step, steps)
            )
    except Exception as error:  # one line, the cause first, instead of a long traceback
        fail(f"migrate failed: {reason(error)}", code=1)
    finally:
        engine.dispose()
    if done.before is None:
        typer.echo(f"created the database schema (revision {done.after})")
    elif done.steps == 0:
        typer.echo(f"the database schema is already the newest (revision {done.after})")
    else:
        typer.echo(f"upgraded the database schema from {done.before} to {done.after}")


@cli.command("create-workspace")
def create_workspace_command(
    name: Annotated[str, typer.Argument(help="The company's name.")],
) -> None:
    """Create a workspace and print its first API key (shown once; stored only as a digest)."""
    settings = owner_settings()
    with transaction(build_sessionmaker(reachable_engine(settings))) as session:
        created = create_workspace(
            session,
            name=name,
            now=system_clock(),
            free_mail_domains=list(settings.free_mail_domains),
        )
        workspace_id = created.workspace.id
    typer.echo(f"workspace {workspace_id} '{name}' created")
    typer.echo(f"API key (shown once, keep it safe): {created.api_key}")


@cli.command("create-key")
def create_key(
    workspace_id: Annotated[int, typer.Argument(help="The workspace the key reaches.")],
    name: Annotated[str, typer.Option(help="What the key is for, e.g. 'Power BI'.")] = "api key",
    scope: Annotated[
        list[str], typer.Option(help="read, write or admin (repeatable); admin implies write.")
    ] = ["read"],  # noqa: B006 (typer reads the default)
) -> None:
    """Mint another API key, e.g. a read-only one for a BI tool; printed once."""
    settings = owner_settings()
    try:
        with transaction(build_sessionmaker(reachable_engine(settings))) as session:
            get_workspace(session, workspace_id)
            secret = mint_key(
                session, workspace_id=workspace_id, name=name, scopes=scope, now=system_clock()
            )
    except (AppError, ValueError) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    typer.echo(
        f"API key for workspace {workspace_id} ({', '.join(sorted(scope))}), shown once: {secret}"
    )


api_key_cli = typer.Typer(
    help="API keys: create, list, revoke, rotate (each logged in the audit log)."
)
cli.add_typer(api_key_cli, name="api-key")


def _audited_cli(session: Session, workspace_id: int, action: str, target: dict[str, Any]) -> None:
    audit.record(
        session,
        workspace_id=workspace_id,
        api_key_id=None,
        action=action,
        target=target,
        change=None,
        now=system_clock(),
    )


@api_key_cli.command("create")
def api_key_create(
    workspace_id: Annotated[int, typer.Argument(help="The workspace the key reaches.")],
    name: Annotated[str, typer.Option(help="What the key is for, e.g. 'Power BI'.")] = "api key",
    scope: Annotated[
        list[str], typer.Option(help="read, write or admin (repeatable); admin implies write.")
    ] = ["read"],  # noqa: B006 (typer reads the default)
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, help="Days until the key stops working.")
    ] = None,
) -> None:
    """Mint an API key; its secret is printed once."""
    now = system_clock()
    expires_at = None if expires_in_days is None else now + timedelta(days=expires_in_days)
    try:
        with transaction(build_sessionmaker(build_engine(owner_settings()))) as session:
            get_workspace(session, workspace_id)
            key, secret = keys.create_key(
                session,
                workspace_id=workspace_id,
                name=name,
                scopes=scope,
                now=now,
                expires_at=expires_at,
            )
            _audited_cli(session, workspace_id, "api-key create", {"key_id": key.id})
            key_id = key.id
    except (AppError, ValueError) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from error
    typer.echo(f"API key {key_id} for workspace {workspace_id}, shown once: {secret}")


@api_key_cli.command("list")
def api_key_list(
    workspace_id: Annotated[int, typer.Argument(help="The workspace whose keys to list.")],
) -> None:
    """Id, prefix, name, scopes, state and last use of every key (never a secret)."""
    now = system_clock()
    with transaction(build_sessionmaker(build_engine(owner_settings()))) as session:
        for key in auth_repository.list_all(session, workspace_id):
            state = "active" if keys.is_active(key, now) else "inactive"
            used = key.last_used_at.isoformat() if key.last_used_at else "never used"
            typer.echo(
                f"{key.id}\t{key.prefix}\t{key.name}\t{','.join(key.scopes)}\t{state}\t{used}"
            )


@api_key_cli.command("revoke")
def api_key_revoke(
    workspace_id: Annotated[int, typer.Argument(help="The key's workspace.")],
    key_id: Annotated[int, typer.Argument(help="The key to revoke.")],
) -> None:
    """Stop a key at once."""
    try:
        with transaction(build_sessionmaker(build_engine(owner_settings()))) as session:
            key = keys.get_key(session, workspace_id=workspace_id, key_id=key_id)
            keys.revoke(session, key=key, now=system_clock())
            _audited_cli(session, workspace_id, "api-key revoke", {"key_id": key_id})
    except AppError as error:
        typer.echo(error.message, err=True)
        raise typer.Exit(1) from error
    typer.echo(f"API key {key_id} revoked")


@api_key_cli.command("rotate")
def api_key_rotate(
    workspace_id: Annotated[int, typer.Argument(help="The key's workspace.")],
    key_id: Annotated[int, typer.Argument(help="The key to replace.")],
) -> None:
    """A new key with the same name and scopes; the old one works for the grace period."""
    settings = owner_settings()
    grace = timedelta(seconds=settings.key_rotation_grace_seconds)
    try:
        with transaction(build_sessionmaker(build_engine(settings))) as session:
            key = keys.get_key(session, workspace_id=workspace_id, key_id=key_id)
            new, secret = keys.rotate(session, key=key, now=system_clock(), grace=grace)
            _audited_cli(
                session, workspace_id, "api-key rotate", {"key_id": key_id, "new_key_id": new.id}
            )
            new_id = new.id
    except AppError as error:
        typer.echo(error.message, err=True)
        raise typer.Exit(1) from error
    typer.echo(
        f"API key {new_id} replaces {key_id} (which works {grace} more), shown once: {secret}"
    )


bi_role_cli = typer.Typer(help="Read-only PostgreSQL roles for BI tools, one per workspace.")
cli.add_typer(bi_role_cli, name="bi-role")


@bi_role_cli.command("create")
def bi_role_create(
    workspace_id: Annotated[int, typer.Argument(help="The workspace whose rows the role reads.")],
) -> None:
    """Create the workspace's read-only role (or give it a new password); print the password once."""
    engine = reachable_engine(owner_settings())
    password = bi.generate_password()
    try:
        role = bi.create_bi_role(engine, workspace_id, password)
    except AppError as error:
        typer.echo(error.message, err=True)
        raise typer.Exit(1) from error
    url = engine.url
    typer.echo(
        f"role {role} reads bi_credits, bi_opportunities, bi_touchpoints of workspace {workspace_id}"
    )
    typer.echo(
        f"host: {url.host}  port: {url.port or 5432}  database: {url.database}  user: {role}"
    )
    typer.echo(f"password (shown once, keep it safe): {password}")


@bi_role_cli.command("drop")
def bi_role_drop(
    workspace_id: Annotated[int, typer.Argument(help="The workspace whose role to drop.")],
) -> None:
    """Revoke and drop the workspace's read-only role."""
    try:
        role = bi.drop_bi_role(reachable_engine(owner_settings()), workspace_id)
    except AppError as error:
        typer.echo(error.message, err=True)
        raise typer.Exit(1) from error
    typer.echo(f"role {role} dropped" if role else f"workspace {workspace_id} has no BI role")


@bi_role_cli.command("list")
def bi_role_list() -> None:
    """The read-only roles of this database, by workspace."""
    try:
        roles = bi.list_bi_roles(reachable_engine(owner_settings()))
    except AppError as error:
        typer.echo(error.message, err=True)
        raise typer.Exit(1) from error
    for role in roles:
        typer.echo(f"{role.workspace_id}\t{role.name}")


@cli.command("grant-runtime-role")
def grant_runtime_role(
    role: Annotated[
        str, typer.Argument(help="An existing PostgreSQL login role that owns nothing.")
    ],
) -> None:
    """Let ROLE serve the API (COMMATTR_DATABASE_URL), held by row-level security per workspace."""
    try:
        rls.grant_runtime_role(reachable_engine(owner_settings()), role)
    except (ValueError, DBAPIError) as error:
        fail(f"cannot grant {role}: {reason(error)}")
    typer.echo(f"role {role} may now serve the API: set COMMATTR_DATABASE_URL to connect as it")


@cli.command()
def demo(
    seed: Annotated[int, typer.Option(help="Seed of the generated company.")] = 7,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when a workspace already exists.")
    ] = False,
) -> None:
    """Generate the demo company, load it through the service, run attribution on it, and print
    its API key (once; it is also kept in `<data dir>/demo-api-key` for the README's examples)."""
    from app.demo import load_demo

    settings = owner_settings()
    engine = reachable_engine(settings)
    with progress() as report:
        loaded = load_demo(
            build_sessionmaker(engine),
            settings=settings,
            seed=seed,
            if_empty=if_empty,
            progress=report,
        )
    if loaded is None:
        typer.echo("the database already holds a workspace: demo not loaded")
        return
    key_file = demo_key_file(settings)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(loaded.api_key + "\n")
    key_file.chmod(0o600)
    typer.echo(loaded.describe())
    typer.echo(f"demo workspace API key (shown once; also in {key_file}): {loaded.api_key}")


@contextmanager
def _metrics_shared_by(processes: int) -> Iterator[None]:
    """Several server processes count requests in files of one fresh folder (prometheus-client's
    multiprocess mode), so /metrics answers the sum whichever process it reaches."""
    if processes == 1 or os.environ.get(MULTIPROCESS_VARIABLE):
        yield
        return
    folder = tempfile.mkdtemp(prefix="commattr-metrics-")
    os.environ[MULTIPROCESS_VARIABLE] = folder
    try:
        yield
    finally:
        os.environ.pop(MULTIPROCESS_VARIABLE, None)
        shutil.rmtree(folder, ignore_errors=True)


def _warn_unless_newest_schema(engine: Engine) -> None:
    with engine.connect() as connection:
        current = migrations.current_revision(connection)
    head = migrations.head_revision()
    if current != head:
        log.warning(
            "the database schema is not the newest: run `commattr migrate` (/readyz answers 503)",
            extra={"schema": current, "head": head},
        )


@cli.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default from settings).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
) -> None:
    """Serve the API (JSON log lines on standard output)."""
    settings = load_settings()
    configure_logging(settings.log_level)
    engine = reachable_engine(settings)
    _warn_unless_newest_schema(engine)
    engine.dispose()
    host = host or settings.host
    port = port or settings.port
    url = f"http://{host}:{port}"
    docs = f"  (API docs: {url}/docs)" if settings.api_docs else ""
    typer.echo(f"community-attribution on {url}{docs}", err=True)
    typer.echo(f"dashboard on {url}/dashboard  (sign in with an API key)", err=True)
    key_file = demo_key_file(settings)
    if key_file.exists():
        today = system_clock().date()
        typer.echo(
            f'try: curl -H "Authorization: Bearer $(cat {key_file})" '
            f'"{url}/v1/reports/summary?from={today - timedelta(days=364)}&to={today}"',
            err=True,
        )
    _exit_0_once_served()
    options = {
        "host": host,
        "port": port,
        "log_level": settings.log_level,
        "log_config": logging_config(settings.log_level),
        "access_log": False,  # each request's JSON line comes from app.observability
    }
    if settings.web_workers == 1:
        uvicorn.run(create_app(settings), **options)  # type: ignore[arg-type]
        return
    # several processes need the app as an import string; each builds it from the environment
    with _metrics_shared_by(settings.web_workers):
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            workers=settings.web_workers,
            # a process must be serving within this time or it is replaced; importing the app
            # takes longer than uvicorn's 5 s on a busy machine, which replaced them forever
            timeout_worker_healthcheck=WORKER_START_SECONDS,
            **options,  # type: ignore[arg-type]
        )


@cli.command()
def healthcheck(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the answer.")] = 5.0,
) -> None:
    """Exit 0 when the local server answers /readyz with 200 (the container's HEALTHCHECK)."""
    settings = load_settings()
    url = f"http://127.0.0.1:{settings.port}/readyz"
    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as error:
        fail(f"{url}: {type(error).__name__}", code=1)
    if response.status_code != 200:
        fail(f"{url}: {response.status_code} {response.text.strip()}", code=1)
    typer.echo(f"{url}: ready")


@cli.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Drain the queue, then exit.")] = False,
    poll_seconds: Annotated[
        float | None,
        typer.Option(help="Pause between empty polls (default: COMMATTR_WORKER_POLL_SECONDS)."),
    ] = None,
) -> None:
    """Queue due sync jobs, then execute queued sync runs and attribution runs. SIGTERM or Ctrl-C
    stops it cleanly: it claims nothing more, hands back the job it holds and exits 0."""
    from app import worker as worker_loop

    settings = owner_settings()
    configure_logging(settings.log_level)
    factory = build_sessionmaker(reachable_engine(settings))
    if once:
        done = worker_loop.drain(factory, settings=settings, clock=system_clock)
        typer.echo(f"executed {len(done)} queued attribution run(s)")
        return
    runner = worker_loop.Worker(factory, settings, system_clock)
    _stop_on_signals(runner.stopping)
    typer.echo("worker started: sync jobs, queued syncs, imports and attribution runs")
    worker_loop.serve_forever(runner, poll_seconds=poll_seconds or settings.worker_poll_seconds)


def _exit_0_once_served() -> None:
    """uvicorn shuts down gracefully on SIGTERM, then raises the signal again for the handler it
    found: this one, so that the stop an orchestrator asks for ends with status 0, not 143."""

    def done(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, done)


def _stop_on_signals(stopping: threading.Event) -> None:
    """The first SIGTERM or SIGINT asks the worker to stop; a second one ends it at once."""

    def ask(signum: int, _frame: FrameType | None) -> None:
        stopping.set()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    signal.signal(signal.SIGTERM, ask)
    signal.signal(signal.SIGINT, ask)


@cli.command()
def openapi(
    output: Annotated[Path, typer.Option(help="Where to write the document.")] = Path(
        "openapi/openapi.json"
    ),
) -> None:
    """Write the OpenAPI document of the API."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_openapi())
    typer.echo(f"wrote {output}")


def render_openapi() -> str:
    return json.dumps(create_app(Settings()).openapi(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    cli()
