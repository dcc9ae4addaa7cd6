"""A secret key for local use, so `make run` and `manage.py` work on a bare machine.

Production sets SECRET_KEY in the environment and starts through WSGI and Celery, which never call this:
there, a missing key stops the service (settings/base.py). Locally, the first run writes a random key to
var/secret_key (readable by its owner only) and later runs reuse it, so sessions survive restarts.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def ensure_local_secret_key(base_dir: Path) -> None:
    if os.environ.get("SECRET_KEY"):
        return
    path = Path(os.environ.get("DATA_DIR") or base_dir / "var") / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(50))
    os.environ["SECRET_KEY"] = path.read_text().strip()
