import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from rapport.cli import main
from rapport.users.services import token_authenticate

ROOT = Path(__file__).resolve().parents[1]


def test_token_create_prints_a_working_token(bob, capsys):
    main(["token", "create", "--user", "bob", "--name", "script"])
    secret = capsys.readouterr().out.strip()
    assert token_authenticate(secret) == bob


def test_token_create_for_an_unknown_user_fails_clearly(db):
    with pytest.raises(SystemExit) as exc:
        main(["token", "create", "--user", "nobody"])
    assert "no user named 'nobody'" in str(exc.value)


def _run_settings(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL", "RAPPORT_PRODUCTION")}
    return subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='rapport.settings'; django.setup(); " + code],
        env={**base, **env}, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _run_settings({"RAPPORT_PRODUCTION": "1", "RAPPORT_DATA_DIR": str(tmp_path)}, "")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_development_generates_and_keeps_a_secret_key(tmp_path):
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = _run_settings({"RAPPORT_DATA_DIR": str(tmp_path)}, code)
    second = _run_settings({"RAPPORT_DATA_DIR": str(tmp_path)}, code)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout and len(first.stdout.strip()) > 40
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"


def test_production_settings_pass_the_deploy_check(tmp_path):
    env = {"RAPPORT_PRODUCTION": "1", "SECRET_KEY": "x" * 20 + "-Zq8#mV2pL7&kR4tW9yB3nF6hJ1cX5vD0gS", "ALLOWED_HOSTS": "crm.example.org", "RAPPORT_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        # The browser tests' async-unsafe switch must not leak into the production check.
        env={**{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}, **env},
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_database_connection_is_configured_for_durability(db):
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous")
            assert cursor.fetchone()[0] == 2  # FULL
        assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    else:
        assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


def test_a_file_database_uses_wal(tmp_path):
    code = (
        "from django.db import connection; c = connection.cursor(); "
        "c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])"
    )
    result = _run_settings({"RAPPORT_DATA_DIR": str(tmp_path), "RAPPORT_TESTING": ""}, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "wal"
