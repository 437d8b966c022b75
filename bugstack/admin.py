from django.contrib import admin, messages
from django.db.models import Count

from bugstack.models import Account, Membership, Project, ProjectKey


class ReadOnlyAdminMixin:
    """History written by the system only (pipeline runs, deliveries, local CI); staff read it."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "project_count", "member_count", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_projects=Count("projects", distinct=True), n_members=Count("memberships", distinct=True)
            )
        )

    @admin.display(description="Projects", ordering="n_projects")
    def project_count(self, obj):
        return obj.n_projects

    @admin.display(description="Members", ordering="n_members")
    def member_count(self, obj):
        return obj.n_members


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "account", "role", "created_at"]
    list_filter = ["role", "account"]
    search_fields = ["user__username", "user__email", "account__name"]
    autocomplete_fields = ["user", "account"]


class ProjectKeyInline(admin.TabularInline):
    model = ProjectKey
    extra = 0
    fields = ["label", "dsn", "is_active", "created_at"]
    readonly_fields = ["dsn", "created_at"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "platform", "code_host", "repository", "auto_deploy", "created_at"]
    list_filter = ["platform", "code_host", "auto_deploy", "account"]
    list_editable = ["auto_deploy"]
    search_fields = ["name", "slug", "repository", "account__name"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["account"]
    inlines = [ProjectKeyInline]
    actions = ["test_model_connection"]
    fieldsets = [
        (None, {"fields": ["account", "name", "slug", "platform"]}),
        (
            "Repository",
            {
                "fields": [
                    "code_host",
                    "repository",
                    "local_repo_path",
                    "default_branch",
                    "test_command",
                    "merge_method",
                ]
            },
        ),
        (
            "Triage",
            {
                "fields": ["uncertain_policy", "triage_min_confidence"],
                "description": "Whether an error triage cannot place, or places as code only weakly, waits "
                "for a person or is tried at once.",
            },
        ),
        (
            "Auto-deploy policy",
            {
                "fields": ["auto_deploy", "confidence_threshold", "max_ci_retries", "max_open_prs"],
                "description": "Manual stops every fix at review; the others merge only when CI passes.",
            },
        ),
        (
            "Fix provider",
            {
                "fields": [
                    "fix_provider",
                    "openai_base_url",
                    "openai_model",
                    "openai_tool_calls",
                    "openai_timeout_seconds",
                    "openai_max_output_tokens",
                ],
                "description": "The OpenAI-compatible fields apply when that provider is chosen; its API key "
                "is the account's OpenAI-compatible credential. “Test the model connection” (Projects list, "
                "actions) asks the server a tiny question.",
            },
        ),
        (
            "Model spend caps",
            {
                "fields": [
                    "daily_token_cap",
                    "monthly_token_cap",
                    "price_per_million_input_tokens",
                    "price_per_million_output_tokens",
                    "daily_spend_cap",
                    "monthly_spend_cap",
                ],
                "description": "Once a cap is reached no model call starts: runs wait until the next UTC day "
                "or month. Spend per day: Integrations, Model spend.",
            },
        ),
        (
            "Fix safety",
            {
                "fields": [
                    "protected_paths",
                    "max_changed_lines",
                    "max_file_bytes",
                    "max_patch_bytes",
                    "context_max_files",
                    "context_max_bytes",
                ]
            },
        ),
        (
            "Ingest",
            {
                "fields": [
                    "dedup_window_seconds",
                    "rate_limit_per_minute",
                    "redact_keys",
                    "allowed_origins",
                    "keep_client_ip",
                ]
            },
        ),
    ]

    @admin.action(description="Test the model connection")
    def test_model_connection(self, request, queryset):
        """Ask each selected project's OpenAI-compatible server a tiny question and show the answer."""
        # Imported here: the tenancy app loads before the integrations it is the base of.
        from integrations.providers.registry import check_connection

        for project in queryset:
            checked = check_connection(project)
            level = messages.SUCCESS if checked.ok else messages.ERROR
            self.message_user(request, f"{project}: {checked.message}", level)


@admin.register(ProjectKey)
class ProjectKeyAdmin(admin.ModelAdmin):
    list_display = ["project", "label", "dsn", "is_active", "created_at"]
    list_filter = ["is_active", "project__account"]
    search_fields = ["project__name", "label", "public_key"]
    readonly_fields = ["dsn", "created_at"]
    fields = ["project", "label", "is_active", "dsn", "created_at"]
    autocomplete_fields = ["project"]

    @admin.display(description="DSN")
    def dsn(self, obj):
        return obj.dsn if obj.pk else "(assigned on save)"
