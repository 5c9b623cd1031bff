"""`commattr worker` that stops dead inside one function: it touches a marker file there, then
sleeps until it is killed, so a test can kill it at a known point of a job.

    python -m tests.worker.paused MODULE:FUNCTION MARKER_FILE [commattr worker options]
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path
from typing import Any

from app import cli


def main() -> None:
    target, marker = sys.argv[1], Path(sys.argv[2])
    module_name, name = target.split(":")
    module = importlib.import_module(module_name)

    def paused(*_args: Any, **_kwargs: Any) -> None:
        marker.touch()
        while True:
            time.sleep(3600)

    setattr(module, name, paused)
    sys.argv = ["commattr", "worker", *sys.argv[3:]]
    cli.main()


if __name__ == "__main__":
    main()
