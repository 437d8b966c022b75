import os
import subprocess
import sys

from django.conf import settings


def run_check(**env_overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "BUGSTACK_BROKER"}}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "check"],
        capture_output=True,
        text=True,
        env=env,
        cwd=settings.BASE_DIR,
        timeout=60,
    )


def test_production_without_secret_key_refuses_to_start_with_a_clear_message():
    result = run_check(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_gets_a_development_secret_key():
    result = run_check(DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_an_unknown_broker_is_refused_at_start():
    result = run_check(DEBUG="1", BUGSTACK_BROKER="amqp://localhost")
    assert result.returncode != 0
    assert "BUGSTACK_BROKER='amqp://localhost' is not understood" in result.stderr


def test_task_queue_retry_exceeds_timeout():
    assert settings.Q_CLUSTER["retry"] > settings.Q_CLUSTER["timeout"]
    assert settings.Q_CLUSTER["max_attempts"] >= 1


# --- production over HTTPS ------------------------------------------------------------------------------

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k3Jx9-production-grade-secret-key-with-many-distinct-characters-0123456789",
    "BUGSTACK_ENCRYPTION_KEYS": "p1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    "ALLOWED_HOSTS": "bugstack.example.com",
    "BUGSTACK_HTTPS": "1",
}

# What a load balancer and a browser see, through Django's test client, in a process with that environment.
PROBE = """
from django.test import Client
client = Client(HTTP_HOST="bugstack.example.com")
health = client.get("/healthz")
plain = client.get("/login/")
secure = client.get("/login/", HTTP_X_FORWARDED_PROTO="https")
print(health.status_code, plain.status_code, plain.get("Location"), secure.status_code)
print(secure.get("Strict-Transport-Security"))
print(secure.cookies["csrftoken"]["secure"])
"""


def run_in_django(code: str, **env_overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "BUGSTACK_BROKER"}}
    env.update(env_overrides, DJANGO_SETTINGS_MODULE="bugstack.settings")
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup()\n{code}"],
        capture_output=True, text=True, env=env, cwd=settings.BASE_DIR, timeout=60,
    )  # fmt: skip


def test_https_mode_passes_the_deploy_check_with_no_warning():
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "BUGSTACK_BROKER"}}
    result = subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "check", "--deploy"],
        capture_output=True, text=True, env={**env, **PRODUCTION}, cwd=settings.BASE_DIR, timeout=60,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_https_mode_redirects_plain_http_but_not_the_health_check(tmp_path):
    # The health check counts the events waiting for digest: it needs a database with the tables.
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}"}
    migrate = "from django.core.management import call_command; call_command('migrate', verbosity=0)"
    migrated = run_in_django(migrate, **PRODUCTION, **database)
    assert migrated.returncode == 0, migrated.stderr
    result = run_in_django(PROBE, **PRODUCTION, **database)

    assert result.returncode == 0, result.stderr
    statuses, hsts, secure_cookie = result.stdout.strip().splitlines()[-3:]
    assert statuses == "200 301 https://bugstack.example.com/login/ 200"
    assert hsts == "max-age=31536000; includeSubDomains; preload"
    assert secure_cookie == "True"


def test_without_https_mode_a_forwarded_proto_header_is_not_trusted():
    code = (
        "from django.test import RequestFactory\n"
        "print(RequestFactory().get('/', HTTP_X_FORWARDED_PROTO='https').is_secure())"
    )
    result = run_in_django(code, DEBUG="1")

    assert result.stdout.strip().splitlines()[-1] == "False"


def test_a_web_server_setting_out_of_range_is_refused_at_start():
    result = run_check(
        DEBUG="1",
        BUGSTACK_WEB_THREADS="0",
        BUGSTACK_WEB_HEADER_TIMEOUT="120",
        BUGSTACK_WEB_BUFFER_BYTES="1000",
    )

    assert result.returncode != 0
    assert "BUGSTACK_WEB_THREADS must be at least 1" in result.stderr
    assert "BUGSTACK_WEB_HEADER_TIMEOUT must be from 0.001 to 60 seconds" in result.stderr
    assert "BUGSTACK_WEB_BUFFER_BYTES must be at least 20971520" in result.stderr
