import pytest
from django.contrib import admin
from django.db.models import F
from django.db.models.signals import pre_save
from django.urls import reverse
from django.utils import timezone

from dashboard.models import SettingsChange
from ingest.models import DroppedItems, ErrorGroup, SpoolFile
from integrations.models import Credential, LocalCheckRun, LocalPullRequest, ModelSpend, WebhookDelivery
from tests.factories import (
    CredentialFactory,
    EventFactory,
    FixAttemptFactory,
    MembershipFactory,
    ProjectKeyFactory,
    TransitionFactory,
    UserFactory,
)


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def one_of_each(db):
    key = ProjectKeyFactory()
    event = EventFactory(group__project=key.project)
    attempt = FixAttemptFactory(run__group=event.group)
    TransitionFactory(run=attempt.run)
    MembershipFactory(account=key.project.account)
    CredentialFactory(account=key.project.account, secret="ghp_neverShownBackInAdmin0000000000")
    project, account = key.project, key.project.account
    LocalPullRequest.objects.create(project=project, number=1, branch="bugstack/fix-1", base_branch="main",
                                    title="Fix ZeroDivisionError", head_sha="a" * 40)  # fmt: skip
    LocalCheckRun.objects.create(project=project, sha="a" * 40, command="pytest", started_at=timezone.now())
    WebhookDelivery.objects.create(account=account, delivery_id="d-1", event="status", repository="acme/shop")
    ModelSpend.objects.create(
        project=project, day=timezone.now().date(), calls=1, input_tokens=900, output_tokens=300
    )
    SettingsChange.objects.create(
        project=project, username="olivia", field="auto_deploy", label="Auto-deploy"
    )
    SpoolFile.objects.create(name="00000000000000000001-web-1-0000abcd.spool", offset=2048)
    DroppedItems.objects.create(
        project=project, category="transaction", reason="not stored", last_seen=timezone.now()
    )
    return key


def admin_urls(model):
    prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    obj = model._default_manager.first()
    return [reverse(f"{prefix}_changelist"), reverse(f"{prefix}_change", args=[obj.pk])]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model",
    [
        m
        for m in admin.site._registry
        if m._meta.app_label in {"bugstack", "ingest", "pipeline", "integrations"}
    ],
    ids=lambda m: m._meta.label,
)
def test_every_admin_page_renders(staff_client, one_of_each, model):
    for url in admin_urls(model):
        response = staff_client.get(url)
        assert response.status_code == 200, url


@pytest.mark.django_db
def test_secrets_are_never_displayed_back(staff_client, one_of_each):
    for url in admin_urls(Credential):
        assert b"ghp_neverShownBackInAdmin" not in staff_client.get(url).content


@pytest.mark.django_db
def test_saving_a_credential_with_an_empty_secret_keeps_the_old_one(staff_client, one_of_each):
    credential = Credential.objects.get()
    url = reverse("admin:integrations_credential_change", args=[credential.pk])

    response = staff_client.post(url, {"account": credential.account_id, "kind": "github", "secret": ""})

    assert response.status_code == 302
    assert Credential.objects.get().secret == "ghp_neverShownBackInAdmin0000000000"


@pytest.mark.django_db
def test_project_key_shows_a_dsn(staff_client, one_of_each):
    response = staff_client.get(reverse("admin:bugstack_projectkey_changelist"))
    assert one_of_each.dsn.encode() in response.content


@pytest.mark.django_db
def test_pipeline_history_is_read_only(staff_client, one_of_each):
    run = one_of_each.project.runs.get()
    response = staff_client.get(reverse("admin:pipeline_fixrun_change", args=[run.pk]))
    assert b'name="_save"' not in response.content
    assert staff_client.get(reverse("admin:pipeline_fixrun_add")).status_code == 403


@pytest.mark.django_db
def test_the_auto_deploy_policy_is_editable_on_the_project_page(staff_client, one_of_each):
    response = staff_client.get(reverse("admin:bugstack_project_change", args=[one_of_each.project.pk]))
    assert b'name="auto_deploy"' in response.content
    assert b'name="confidence_threshold"' in response.content


@pytest.mark.django_db
def test_staff_override_a_verdict_and_triage_keeps_it(staff_client):
    from ingest.models import ErrorGroup
    from tests.factories import ErrorGroupFactory

    group = ErrorGroupFactory(category="dependency", triage_reason="dependency: raised inside somelib")
    url = reverse("admin:ingest_errorgroup_change", args=[group.pk])

    response = staff_client.post(
        url, {"status": "unresolved", "category": "code", "triage_reason": group.triage_reason}
    )

    assert response.status_code == 302
    group = ErrorGroup.objects.get(pk=group.pk)
    assert (group.category, group.category_overridden) == ("code", True)
    assert group.triage_reason == "code: set by root"


@pytest.mark.django_db
def test_staff_start_a_fix_run_from_admin_but_never_a_second_one_in_flight(staff_client):
    from pipeline.models import FixRun
    from tests.factories import ErrorGroupFactory

    group = ErrorGroupFactory()
    changelist = reverse("admin:ingest_errorgroup_changelist")
    action = {"action": "start_fix_runs", "_selected_action": [group.pk]}

    first = staff_client.post(changelist, action, follow=True)
    second = staff_client.post(changelist, action, follow=True)

    run = FixRun.objects.get(group=group)
    assert (run.trigger, run.state) == ("manual", "queued")
    assert f"run #{run.pk} queued" in first.content.decode()
    assert f"Run #{run.pk} is still in progress" in second.content.decode()


def test_saving_a_group_in_the_admin_keeps_what_digest_counted_meanwhile(staff_client, one_of_each):
    group = ErrorGroup.objects.get()
    url = reverse("admin:ingest_errorgroup_change", args=[group.pk])

    def digest_meanwhile(sender, instance, **kwargs):
        # Between the admin loading the group and writing it, a digest batch commits five more events.
        ErrorGroup.objects.filter(pk=instance.pk).update(times_seen=F("times_seen") + 5)

    pre_save.connect(digest_meanwhile, sender=ErrorGroup, dispatch_uid="test-digest-meanwhile")
    try:
        response = staff_client.post(url, {"status": "ignored", "category": "", "triage_reason": ""})
    finally:
        pre_save.disconnect(sender=ErrorGroup, dispatch_uid="test-digest-meanwhile")

    assert response.status_code == 302
    saved = ErrorGroup.objects.get()
    assert (saved.status, saved.times_seen) == ("ignored", group.times_seen + 5)
