"""Settings come from the environment only and are parsed strictly."""

import subprocess
import sys

import pytest
from conftest import REPO, subprocess_env

from duban.settings.env import ConfigError, Env


def run_cli(*args, **env):
    environ = subprocess_env(**{k: v for k, v in env.items() if v is not None})
    production = environ.get("DUBAN_ENV") == "production" or \
        environ.get("DJANGO_SETTINGS_MODULE", "").endswith(".production")
    if production and "DUBAN_TODAY" not in env:
        environ.pop("DUBAN_TODAY", None)  # a production site runs on the real date (it refuses a pinned one)
    for key, value in env.items():
        if value is None:
            environ.pop(key, None)
    return subprocess.run([sys.executable, "-m", "duban.cli", *args], cwd=REPO, env=environ,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("env", "variable", "fragment"), [
    ({"DEBUG": "maybe"}, "DEBUG", "expected a boolean"),
    ({"DATABASE_URL": "mysql://root@localhost/duban"}, "DATABASE_URL", "unsupported scheme"),
    ({"DATABASE_URL": None}, "DATABASE_URL", "is required"),
    ({"CELERY_BROKER_URL": "kafka://x"}, "CELERY_BROKER_URL", "unsupported scheme"),
    ({"DUBAN_BASE_DOMAIN": "not a host!"}, "DUBAN_BASE_DOMAIN", "DNS host name"),
    ({"SENTRY_DSN": "ftp://x"}, "SENTRY_DSN", "unsupported scheme"),
    ({"EMAIL_URL": "pigeon://coop"}, "EMAIL_URL", "unsupported scheme"),
    ({"DUBAN_CACHE_URL": "memcached://x"}, "DUBAN_CACHE_URL", "unsupported scheme"),
    ({"SECRET_KEY_FILE": "/nonexistent/secret"}, "SECRET_KEY_FILE", "cannot read"),
    ({"DUBAN_ENV": "staging", "DJANGO_SETTINGS_MODULE": None}, "DUBAN_ENV", "expected one of"),
    ({"DUBAN_ENV": "production", "DJANGO_SETTINGS_MODULE": None, "SECRET_KEY": None}, "SECRET_KEY", "is required"),
    ({"DUBAN_TODAY": "31/12/2026"}, "DUBAN_TODAY", "expected a date as YYYY-MM-DD"),
    ({"DUBAN_TODAY": "2026-02-30"}, "DUBAN_TODAY", "expected a date as YYYY-MM-DD"),
    ({"DUBAN_ENV": "production", "DJANGO_SETTINGS_MODULE": None, "SECRET_KEY": "k" * 40 + "abcdefghij",
      "DUBAN_TODAY": "2026-12-31"}, "DUBAN_TODAY", "a production site runs on the real date"),
])
def test_bad_setting_stops_start_up_naming_the_variable(env, variable, fragment):
    result = run_cli("check", **env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"configuration error: {variable}: " in result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


def test_secret_from_file_and_conflict(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret-from-a-mounted-file\n")
    env = Env({"SECRET_KEY_FILE": str(secret)})
    assert env.str("SECRET_KEY", secret=True) == "s3cret-from-a-mounted-file"
    with pytest.raises(ConfigError, match="SECRET_KEY: set either SECRET_KEY or SECRET_KEY_FILE"):
        Env({"SECRET_KEY": "a", "SECRET_KEY_FILE": str(secret)}).str("SECRET_KEY", secret=True)
    (tmp_path / "empty").write_text("")
    with pytest.raises(ConfigError, match="SECRET_KEY_FILE: .* is empty"):
        Env({"SECRET_KEY_FILE": str(tmp_path / "empty")}).str("SECRET_KEY", secret=True)


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("TRUE", True), ("yes", True), ("on", True),
                                               ("0", False), ("false", False), ("No", False), ("off", False)])
def test_booleans(raw, expected):
    assert Env({"DEBUG": raw}).bool("DEBUG", not expected) is expected


def test_integers_and_ranges():
    assert Env({"N": "42"}).int("N", 1) == 42
    with pytest.raises(ConfigError, match="N: expected an integer, got 'x'"):
        Env({"N": "x"}).int("N", 1)
    with pytest.raises(ConfigError, match="N: must be at least 5"):
        Env({"N": "3"}).int("N", 10, minimum=5)


def test_production_profile_passes_check_deploy_with_zero_warnings():
    key = "k" * 20 + "Zq9!x" + "m" * 30
    for selector in ({"DJANGO_SETTINGS_MODULE": "duban.settings.production"},
                     {"DJANGO_SETTINGS_MODULE": None, "DUBAN_ENV": "production"}):
        result = run_cli("check", "--deploy", "--fail-level", "WARNING", SECRET_KEY=key,
                         DUBAN_BASE_DOMAIN="duban.example.gov.cn", **selector)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_a_weak_secret_key():
    result = run_cli("check", DJANGO_SETTINGS_MODULE="duban.settings.production", SECRET_KEY="short")
    assert result.returncode == 2
    assert "SECRET_KEY: must be at least 50 characters" in result.stderr


def test_secret_key_rotation_keeps_old_signatures_valid():
    """SECRET_KEY_FALLBACKS (comma separated, or _FILE): what the old key signed — sessions,
    password-reset links — still verifies after the rotation; the deploy check vets the old keys too."""
    old, new = "o" * 20 + "Old-key-9!" + "p" * 30, "n" * 20 + "New-key-7?" + "q" * 30
    script = ("from django.core import signing; from django.conf import settings; "
              f"signed = signing.dumps('session', key={old!r}); "
              "print(len(settings.SECRET_KEY_FALLBACKS), signing.loads(signed))")
    result = run_cli("shell", "-c", script, DJANGO_SETTINGS_MODULE="duban.settings.production", SECRET_KEY=new,
                     SECRET_KEY_FALLBACKS=f" {old} ,", DUBAN_BASE_DOMAIN="duban.example.gov.cn")
    assert result.returncode == 0 and result.stdout.split()[-2:] == ["1", "session"], result.stdout + result.stderr
    weak = run_cli("check", "--deploy", "--fail-level", "WARNING", DJANGO_SETTINGS_MODULE="duban.settings.production",
                   SECRET_KEY=new, SECRET_KEY_FALLBACKS="weak", DUBAN_BASE_DOMAIN="duban.example.gov.cn")
    assert weak.returncode != 0 and "SECRET_KEY_FALLBACKS" in weak.stdout + weak.stderr


def test_a_shared_cache_makes_the_host_cache_shared_across_processes():
    """DUBAN_CACHE_URL (Redis): two processes see one cache, and the host → county cache keeps
    its entries for the shared TTL (its generation token reaches every process)."""
    script = ("from django.core.cache import cache; from tenants import cache as t; import sys; "
              "cache.set('shared-probe', sys.argv[-1]) if sys.argv[-1] != 'read' else None; "
              "print(t.is_shared(), t.ttl(), cache.get('shared-probe'))")
    env = {"DUBAN_CACHE_URL": "redis://127.0.0.1:6379/3"}
    first = run_cli("shell", "-c", script.replace("sys.argv[-1]", "'written'"), **env)
    second = run_cli("shell", "-c", script.replace("sys.argv[-1] != 'read'", "False"), **env)
    assert first.stdout.split()[-3:] == ["True", "60.0", "written"], first.stdout + first.stderr
    assert second.stdout.split()[-3:] == ["True", "60.0", "written"], second.stdout + second.stderr
    local = run_cli("shell", "-c", "from tenants import cache as t; print(t.is_shared(), t.ttl())")
    assert local.stdout.split()[-2:] == ["False", "5.0"], local.stdout + local.stderr
