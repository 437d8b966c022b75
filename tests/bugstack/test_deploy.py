"""The deployment files (``deploy/``) start processes that exist, with options they take and settings bugstack
reads: checked here because no container runtime or systemd runs in the test environment."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands, load_command_class

DEPLOY = Path(settings.BASE_DIR) / "deploy"
SETTINGS_TEXT = (Path(settings.BASE_DIR) / "bugstack" / "settings.py").read_text()
# Read by libraries or the container images, not by bugstack's settings module.
NOT_BUGSTACK_SETTINGS = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "ANTHROPIC_API_KEY"}


def check_manage_command(argv: list[str]) -> None:
    """``argv`` (after ``manage.py``) names a command bugstack has, with options its parser accepts."""
    name, *arguments = argv
    commands = get_commands()
    assert name in commands, f"no manage.py command {name!r}"
    parser = load_command_class(commands[name], name).create_parser("manage.py", name)
    parser.parse_args(arguments)


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_runs_web_workers_and_digest_on_postgresql_and_redis():
    services = compose()["services"]

    assert {"postgres", "redis", "migrate", "web", "worker", "digest"} <= set(services)
    for name in ("migrate", "web", "worker", "digest"):
        command = services[name]["command"]
        assert command[:2] == ["python", "manage.py"], name
        check_manage_command(command[2:])
        environment = services[name]["environment"]
        assert environment["BUGSTACK_BROKER"].startswith("redis://"), name
        assert environment["DATABASE_URL"].startswith("postgres://"), name
        assert environment["BUGSTACK_DIGEST"] == "loop", name  # digest is the digest service's work
    assert "--web-only" in services["web"]["command"]


def test_compose_sets_only_settings_bugstack_reads():
    environment = compose()["services"]["web"]["environment"]
    for variable in set(environment) - NOT_BUGSTACK_SETTINGS:
        assert re.search(rf'"{variable}"', SETTINGS_TEXT), f"{variable} is not read by bugstack/settings.py"


@pytest.mark.parametrize("unit", sorted(p.name for p in (DEPLOY / "systemd").glob("*.service")))
def test_systemd_units_start_manage_commands_that_exist(unit):
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(DEPLOY / "systemd" / unit)

    service = parser["Service"]
    assert service["EnvironmentFile"] == "/etc/bugstack/bugstack.env"
    assert service["Restart"] == "always"
    for key in ("ExecStartPre", "ExecStart"):
        if key in service:
            program, manage, *argv = shlex.split(service[key])
            assert program.endswith("/python") and manage == "manage.py", unit
            check_manage_command(argv)


def test_the_environment_example_names_only_settings_bugstack_reads():
    lines = (DEPLOY / ".env.example").read_text().splitlines()
    variables = {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}
    for variable in variables - NOT_BUGSTACK_SETTINGS:
        assert re.search(rf'"{variable}"', SETTINGS_TEXT), f"{variable} is not read by bugstack/settings.py"
