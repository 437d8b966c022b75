"""Tenancy: accounts, their members, their projects and the keys SDKs send events with."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.text import slugify

from bugstack.limits import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_PATCH_BYTES,
    DEFAULT_PROTECTED_PATHS,
    DEFAULT_TRIAGE_MIN_CONFIDENCE,
    lines,
)

repository_validator = RegexValidator(
    r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", "Enter the repository as owner/name, e.g. acme/shop."
)


def validate_base_url(value: str) -> None:
    """An http(s) address with a host. Django's URLValidator would refuse the single-label host names
    model servers often have on a private network (``http://ollama:11434/v1``)."""
    try:
        parts = urlsplit(value)
    except ValueError:  # an unclosed IPv6 bracket, for one
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("Enter an http:// or https:// address, e.g. http://127.0.0.1:8000/v1.")


class Account(models.Model):
    """A team: it owns projects and credentials, and people join it through memberships."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    MANAGER_ROLES = (Role.OWNER, Role.ADMIN)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "account"], name="unique_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.account} ({self.role})"

    @property
    def can_manage(self) -> bool:
        return self.role in self.MANAGER_ROLES


class ProjectQuerySet(models.QuerySet):
    def for_user(self, user) -> ProjectQuerySet:
        """The projects a person may see: those of accounts they belong to (all, for superusers)."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(account__memberships__user=user)

    def managed_by(self, user) -> ProjectQuerySet:
        """The projects whose settings a person may change: account owners and admins only."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(
            account__memberships__user=user, account__memberships__role__in=Membership.MANAGER_ROLES
        )


class Project(models.Model):
    class Platform(models.TextChoices):
        PYTHON = "python", "Python"
        NODE = "node", "Node.js"
        RUBY = "ruby", "Ruby"
        GO = "go", "Go"

    class CodeHost(models.TextChoices):
        GITHUB = "github", "GitHub"
        LOCAL = "local", "Local git repository"

    class AutoDeploy(models.TextChoices):
        MANUAL = "manual", "Manual: stop at review"
        CI_PASS = "ci_pass", "Merge when CI passes"
        CONFIDENCE = "confidence", "Merge when CI passes and confidence ≥ threshold"

    class UncertainPolicy(models.TextChoices):
        HOLD = "hold", "Hold for a person"
        FIX = "fix", "Try a fix"

    class FixProvider(models.TextChoices):
        DEFAULT = "", "Server default"
        RULES = "rules", "Offline rules"
        ANTHROPIC = "anthropic", "Anthropic (Claude)"
        OPENAI = "openai", "OpenAI-compatible server"

    class MergeMethod(models.TextChoices):
        MERGE = "merge", "Merge commit"
        SQUASH = "squash", "Squash"
        REBASE = "rebase", "Rebase"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    platform = models.CharField(max_length=10, choices=Platform.choices, default=Platform.PYTHON)

    code_host = models.CharField(max_length=10, choices=CodeHost.choices, default=CodeHost.GITHUB)
    repository = models.CharField(
        max_length=200, blank=True, validators=[repository_validator], help_text="owner/name on GitHub."
    )
    local_repo_path = models.CharField(
        max_length=500, blank=True, help_text="Path of the git repository on this server (local code host)."
    )
    default_branch = models.CharField(max_length=200, default="main")
    test_command = models.CharField(
        max_length=500,
        blank=True,
        help_text="Run in a fresh worktree as the local host's CI, e.g. `pytest -q`.",
    )
    merge_method = models.CharField(max_length=10, choices=MergeMethod.choices, default=MergeMethod.MERGE)

    # Grouping and ingest.
    dedup_window_seconds = models.PositiveIntegerField(default=300)
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Events accepted per key per minute; empty means no limit."
    )
    redact_keys = models.TextField(
        blank=True, help_text="Extra field names to filter, one per line, on top of the built-in denylist."
    )
    allowed_origins = models.TextField(
        blank=True,
        help_text="Web origins browser SDKs may send events from, one per line (https://shop.example.com), "
        "or * for any. Empty: none; events sent from a web page are refused.",
    )
    keep_client_ip = models.BooleanField(
        default=False,
        help_text="Keep the IP address SDKs send with the user or request. Off: it is dropped on arrival.",
    )

    # Triage: what happens to an error whose verdict is uncertain.
    uncertain_policy = models.CharField(
        max_length=4,
        choices=UncertainPolicy.choices,
        default=UncertainPolicy.HOLD,
        help_text="What happens to an error triage cannot place: it waits for a person to try a fix or label "
        "it, or a fix is tried at once.",
    )
    # ... and to one triage reads as code by a rule that was often wrong on errors it was not written from.
    triage_min_confidence = models.FloatField(
        default=DEFAULT_TRIAGE_MIN_CONFIDENCE,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="A code verdict less sure than this is treated as uncertain. A verdict's confidence is how "
        "often its rule was right on real errors it was not written from; 0 takes every code verdict as "
        "code.",
    )

    # Fix generation and policy.
    auto_deploy = models.CharField(max_length=12, choices=AutoDeploy.choices, default=AutoDeploy.MANUAL)
    confidence_threshold = models.FloatField(
        default=0.8, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    max_ci_retries = models.PositiveSmallIntegerField(default=2, validators=[MaxValueValidator(10)])
    max_open_prs = models.PositiveSmallIntegerField(default=5)
    max_changed_lines = models.PositiveIntegerField(default=60)
    max_file_bytes = models.PositiveIntegerField(
        default=DEFAULT_MAX_FILE_BYTES, help_text="Bytes a fix may add or change in one file."
    )
    max_patch_bytes = models.PositiveIntegerField(
        default=DEFAULT_MAX_PATCH_BYTES, help_text="Bytes a fix may add or change in all its files together."
    )
    context_max_files = models.PositiveSmallIntegerField(default=12)
    context_max_bytes = models.PositiveIntegerField(default=200_000)
    protected_paths = models.TextField(
        default=DEFAULT_PROTECTED_PATHS,
        blank=True,
        help_text="Glob patterns, one per line, that a fix may never change. Dependency manifests "
        "(requirements*.txt, pyproject.toml, setup.py, setup.cfg, Pipfile, package.json, Gemfile, *.gemspec, "
        "go.mod) are always protected as well: dependency errors are reported, never fixed.",
    )

    # Where fixes come from (integrations/providers/registry.py) and what the model may spend.
    fix_provider = models.CharField(
        max_length=10,
        choices=FixProvider.choices,
        default=FixProvider.DEFAULT,
        blank=True,
        help_text="Who proposes fixes. The server default is BUGSTACK_FIX_PROVIDER (Anthropic when a key is "
        "set, the offline rules otherwise).",
    )
    openai_base_url = models.CharField(
        max_length=500,
        blank=True,
        validators=[validate_base_url],
        help_text="The OpenAI-compatible server's API address, e.g. http://127.0.0.1:11434/v1 for Ollama. "
        "Empty: OPENAI_BASE_URL, or OpenAI's API.",
    )
    openai_model = models.CharField(
        max_length=200,
        blank=True,
        help_text="Model name as the server knows it. Empty: BUGSTACK_OPENAI_MODEL.",
    )
    openai_tool_calls = models.BooleanField(
        default=True,
        help_text="The model calls tools. Off: it is asked for a JSON-only answer, checked the same way.",
    )
    openai_timeout_seconds = models.PositiveIntegerField(
        default=180,
        validators=[MinValueValidator(1), MaxValueValidator(3600)],
        help_text="Seconds one request to the server may take.",
    )
    openai_max_output_tokens = models.PositiveIntegerField(
        default=8192,
        validators=[MinValueValidator(256), MaxValueValidator(1_000_000)],
        help_text="Most tokens the model may write in one answer.",
    )
    daily_token_cap = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Model tokens (in and out) per UTC day; empty means no cap."
    )
    monthly_token_cap = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Model tokens (in and out) per UTC month; empty means no cap."
    )
    price_per_million_input_tokens = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True, help_text="What the model charges."
    )
    price_per_million_output_tokens = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True, help_text="What the model charges."
    )
    daily_spend_cap = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Money per UTC day, in the prices' currency; counted only while prices are set.",
    )
    monthly_spend_cap = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Money per UTC month, in the prices' currency; counted only while prices are set.",
    )

    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = unique_slug(Project, self.name)
        super().save(*args, **kwargs)

    @property
    def protected_path_globs(self) -> list[str]:
        return lines(self.protected_paths)

    @property
    def extra_redact_keys(self) -> list[str]:
        return [key.lower() for key in lines(self.redact_keys)]

    @property
    def origins(self) -> frozenset[str]:
        """The allowed origins as browsers send them: scheme://host[:port], lower case, no trailing slash."""
        return frozenset(origin.lower().rstrip("/") for origin in lines(self.allowed_origins))


class ProjectKeyQuerySet(models.QuerySet):
    def active(self) -> ProjectKeyQuerySet:
        return self.filter(is_active=True)

    def get_by_public_key(self, public_key: str) -> ProjectKey:
        return self.select_related("project", "project__account").get(public_key=public_key)


def new_public_key() -> str:
    return secrets.token_hex(16)


class ProjectKey(models.Model):
    """The public key an SDK sends events with; rotating creates a new key and deactivates the old."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="keys")
    label = models.CharField(max_length=100, default="Default")
    public_key = models.CharField(max_length=32, unique=True, default=new_public_key, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.project} · {self.label}"

    @property
    def dsn(self) -> str:
        """Sentry-style DSN: ``scheme://<key>@host/<project id>``."""
        base = urlsplit(settings.BUGSTACK_BASE_URL)
        return f"{base.scheme}://{self.public_key}@{base.netloc}{base.path}/{self.project_id}"


def unique_slug(model: type[models.Model], name: str) -> str:
    base = slugify(name)[:90] or "project"
    slug, n = base, 1
    while model.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug
