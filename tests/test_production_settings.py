"""Production settings (issue #13): the service refuses to start without a SECRET_KEY unless DEBUG is on;
HTTPS settings come from the environment; `check --deploy` is clean with the settings the README shows."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The README's "Production settings" example, with a database for the checks that touch it.
PRODUCTION = {
    "SECRET_KEY": "k" * 10 + "3f9Q-lP2_vX8mZr7TbYc1WdN5sHe0uJg4KaOiLqRt6Fy",
    "ALLOWED_HOSTS": "scorecards.example.com",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_COOKIES": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SECURE_PROXY_SSL_HEADER": "true",
}


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE")}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "scorecards_site.settings.base", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_readme_production_settings():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_https_settings_come_from_the_environment():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD, s.SECURE_PROXY_SSL_HEADER)"
    )
    on = run(["-c", code], **PRODUCTION)
    assert on.stdout.split() == [
        "True",
        "True",
        "True",
        "31536000",
        "True",
        "True",
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
    ]
    off = run(["-c", code], SECRET_KEY=PRODUCTION["SECRET_KEY"])
    assert off.stdout.split() == ["False", "False", "False", "0", "False", "False", "None"]


def test_without_a_secret_key_the_wsgi_application_and_the_worker_refuse_to_start():
    # A worker loads the task modules, and so the settings, when it starts, as the second line does.
    for code in (
        "import scorecards_site.wsgi",
        "import scorecards_site.celery as c; c.app.loader.import_default_modules()",
    ):
        result = run(["-c", code])
        assert result.returncode != 0
        assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr
    assert run(["-c", "import scorecards_site.wsgi"], DEBUG="true").returncode == 0


def test_manage_py_makes_a_local_key_once_readable_by_its_owner_only(tmp_path):
    first = run(["manage.py", "check"], DATA_DIR=str(tmp_path))
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "secret_key"
    key = key_file.read_text()
    assert len(key) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert run(["manage.py", "check"], DATA_DIR=str(tmp_path)).returncode == 0
    assert key_file.read_text() == key
