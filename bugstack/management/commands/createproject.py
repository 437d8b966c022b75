"""Create (or update) an account, a project and its key, and print them as one JSON line."""

import json
import os
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify

from bugstack.models import Account, Project, ProjectKey, repository_validator
from integrations.models import Credential


class Command(BaseCommand):
    help = "Create a project (its account and key too) and print {project_id, slug, key, ingest_url}."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--account", default="Default", help="Account name (created if missing).")
        repo = parser.add_mutually_exclusive_group()
        repo.add_argument("--repo", help="GitHub repository owner/name.")
        repo.add_argument("--local-repo", help="Path of a local git repository.")
        parser.add_argument("--platform", choices=Project.Platform.values, default=Project.Platform.PYTHON)
        parser.add_argument("--default-branch", default=None)
        parser.add_argument("--test-command", default=None)
        parser.add_argument("--policy", choices=Project.AutoDeploy.values, default=None)
        parser.add_argument(
            "--github-token-env", metavar="VAR", help="Store the token in $VAR as a credential."
        )

    def handle(self, *args, **options):
        token = self.read_token(options["github_token_env"])
        fields = self.project_fields(options)
        with transaction.atomic():
            account, _ = Account.objects.get_or_create(
                slug=slugify(options["account"]) or "default", defaults={"name": options["account"]}
            )
            project = Project.objects.filter(account=account, name=options["name"]).first()
            if project is None:
                project = Project(account=account, name=options["name"])
            for name, value in fields.items():
                setattr(project, name, value)
            try:
                project.full_clean(exclude=["slug"])
            except ValidationError as exc:
                raise CommandError(format_errors(exc)) from exc
            project.save()
            key = project.keys.filter(is_active=True).first() or ProjectKey.objects.create(project=project)
            if token:
                Credential.objects.update_or_create(
                    account=account, kind=Credential.Kind.GITHUB, defaults={"secret": token}
                )
        self.stdout.write(
            json.dumps(
                {
                    "project_id": project.pk,
                    "slug": project.slug,
                    "key": key.public_key,
                    "dsn": key.dsn,
                    "ingest_url": f"{settings.BUGSTACK_BASE_URL}/api/v1/events/",
                }
            )
        )

    def read_token(self, var: str | None) -> str:
        if not var:
            return ""
        token = os.environ.get(var, "")
        if not token:
            raise CommandError(f"--github-token-env {var}: the environment variable {var} is empty or unset.")
        return token

    def project_fields(self, options) -> dict:
        fields: dict = {"platform": options["platform"]}
        if options["repo"]:
            try:
                repository_validator(options["repo"])
            except ValidationError as exc:
                raise CommandError(f"--repo {options['repo']!r}: {exc.messages[0]}") from exc
            fields.update(code_host=Project.CodeHost.GITHUB, repository=options["repo"])
        elif options["local_repo"]:
            path = Path(options["local_repo"]).expanduser().resolve()
            if not (path / ".git").exists():
                raise CommandError(f"--local-repo {path}: not a git repository (no .git there).")
            fields.update(code_host=Project.CodeHost.LOCAL, local_repo_path=str(path))
        for option, field in [
            ("default_branch", "default_branch"),
            ("test_command", "test_command"),
            ("policy", "auto_deploy"),
        ]:
            if options[option] is not None:
                fields[field] = options[option]
        return fields


def format_errors(exc: ValidationError) -> str:
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
