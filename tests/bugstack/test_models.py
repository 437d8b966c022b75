import pytest
from django.contrib.auth.models import AnonymousUser

from bugstack.models import Project
from tests.factories import ProjectFactory


@pytest.mark.django_db
def test_for_user_sees_only_the_accounts_projects(project, owner, member, outsider):
    ProjectFactory(account=outsider.memberships.get().account, name="Theirs")

    assert list(Project.objects.for_user(owner)) == [project]
    assert list(Project.objects.for_user(member)) == [project]
    assert [p.name for p in Project.objects.for_user(outsider)] == ["Theirs"]
    assert not Project.objects.for_user(AnonymousUser()).exists()


@pytest.mark.django_db
def test_only_owners_and_admins_manage(project, owner, member):
    assert list(Project.objects.managed_by(owner)) == [project]
    assert not Project.objects.managed_by(member).exists()


@pytest.mark.django_db
def test_an_inactive_user_sees_nothing(project, member):
    member.is_active = False
    member.save()
    assert not Project.objects.for_user(member).exists()


@pytest.mark.django_db
def test_a_project_starts_with_safe_defaults(account):
    project = Project.objects.create(account=account, name="Billing API")

    assert project.slug == "billing-api"
    assert project.auto_deploy == Project.AutoDeploy.MANUAL
    assert project.dedup_window_seconds == 300
    assert project.max_ci_retries == 2
    assert project.max_open_prs == 5
    assert ".github/**" in project.protected_path_globs


@pytest.mark.django_db
def test_slugs_stay_unique(account):
    first = Project.objects.create(account=account, name="Shop")
    second = Project.objects.create(account=account, name="Shop")
    assert (first.slug, second.slug) == ("shop", "shop-2")
