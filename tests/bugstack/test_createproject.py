import json
import subprocess
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from bugstack.models import Project, ProjectKey
from integrations.models import Credential


def createproject(*args) -> dict:
    out = StringIO()
    call_command("createproject", *args, stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1, "prints exactly one JSON line"
    return json.loads(lines[0])


@pytest.mark.django_db
def test_creates_account_project_and_key_and_prints_them(settings):
    settings.BUGSTACK_BASE_URL = "https://bugs.example.com"

    printed = createproject("Shop", "--account", "Acme", "--repo", "acme/shop", "--policy", "ci_pass")

    project = Project.objects.get(pk=printed["project_id"])
    assert (project.account.name, project.slug, project.repository) == ("Acme", "shop", "acme/shop")
    assert project.code_host == Project.CodeHost.GITHUB
    assert project.auto_deploy == Project.AutoDeploy.CI_PASS
    assert ProjectKey.objects.active().get_by_public_key(printed["key"]).project == project
    assert printed["ingest_url"] == "https://bugs.example.com/api/v1/events/"
    assert printed["dsn"] == f"https://{printed['key']}@bugs.example.com/{project.pk}"


@pytest.mark.django_db
def test_running_again_updates_the_project_and_keeps_its_key():
    first = createproject("Shop", "--account", "Acme")
    second = createproject("Shop", "--account", "Acme", "--policy", "confidence")

    assert first["project_id"] == second["project_id"]
    assert first["key"] == second["key"]
    assert Project.objects.get().auto_deploy == "confidence"


@pytest.mark.django_db
def test_local_repository_and_test_command(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)

    printed = createproject("Demo", "--local-repo", str(tmp_path), "--test-command", "pytest -q")

    project = Project.objects.get(pk=printed["project_id"])
    assert project.code_host == Project.CodeHost.LOCAL
    assert project.local_repo_path == str(tmp_path.resolve())
    assert project.test_command == "pytest -q"


@pytest.mark.django_db
def test_github_token_from_the_named_variable_is_stored_encrypted(monkeypatch):
    monkeypatch.setenv("SHOP_GH_TOKEN", "ghp_tokenFromTheEnvironment0123456789")

    printed = createproject(
        "Shop", "--account", "Acme", "--repo", "acme/shop", "--github-token-env", "SHOP_GH_TOKEN"
    )

    credential = Credential.objects.get(account__projects__pk=printed["project_id"])
    assert credential.kind == Credential.Kind.GITHUB
    assert credential.secret == "ghp_tokenFromTheEnvironment0123456789"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args, message",
    [
        (["--repo", "not a repo"], "owner/name"),
        (["--local-repo", "/nonexistent/path"], "not a git repository"),
        (["--github-token-env", "NO_SUCH_VARIABLE_SET"], "NO_SUCH_VARIABLE_SET is empty or unset"),
    ],
)
def test_bad_arguments_fail_with_a_message_and_create_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        createproject("Shop", *args)
    assert not Project.objects.exists()
