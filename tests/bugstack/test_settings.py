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


def test_a_web_server_setting_out_of_range_is_refused_at_start():
    result = run_check(DEBUG="1", BUGSTACK_WEB_THREADS="0", BUGSTACK_WEB_HEADER_TIMEOUT="120")

    assert result.returncode != 0
    assert "BUGSTACK_WEB_THREADS must be at least 1" in result.stderr
    assert "BUGSTACK_WEB_HEADER_TIMEOUT must be from 0.001 to 60 seconds" in result.stderr
