"""Who may see and do what: an outsider sees nothing, a member reads, owners and admins change settings."""

from html import unescape

import pytest
from django.urls import reverse

from bugstack.models import Membership
from tests.factories import (
    AccountFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectKeyFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

GROUP_PAGES = ["dashboard:group", "dashboard:group-runs"]
PROJECT_PAGES = ["dashboard:groups", "dashboard:fixes", "dashboard:settings", "dashboard:setup"]
GROUP_ACTIONS = [
    ("dashboard:start-run", {}),
    ("dashboard:group-status", {"action": "ignore"}),
    ("dashboard:group-status", {"action": "resolve"}),
    ("dashboard:group-status", {"action": "reopen"}),
]


def project_url(name, project):
    return reverse(name, kwargs={"slug": project.slug})


def group_url(name, group, **extra):
    return reverse(name, kwargs={"slug": group.project.slug, "group_id": group.pk, **extra})


@pytest.mark.parametrize("name", PROJECT_PAGES)
def test_outsider_gets_404_on_every_project_page(client, outsider, project, name):
    client.force_login(outsider)
    assert client.get(project_url(name, project)).status_code == 404


@pytest.mark.parametrize("name", GROUP_PAGES)
def test_outsider_gets_404_on_another_accounts_group(client, outsider, project, merged_group, name):
    client.force_login(outsider)
    assert client.get(group_url(name, merged_group)).status_code == 404


@pytest.mark.parametrize(("name", "extra"), GROUP_ACTIONS)
def test_outsider_cannot_act_on_another_accounts_group(client, outsider, merged_group, name, extra):
    client.force_login(outsider)
    response = client.post(group_url(name, merged_group, **extra))
    assert response.status_code == 404
    merged_group.refresh_from_db()
    assert merged_group.status == "fixed"
    assert merged_group.runs.count() == 1


def test_outsider_cannot_change_settings_or_rotate_keys(client, outsider, project, key):
    client.force_login(outsider)
    assert (
        client.post(project_url("dashboard:settings", project), {"auto_deploy": "ci_pass"}).status_code == 404
    )
    assert client.post(project_url("dashboard:rotate-key", project)).status_code == 404
    project.refresh_from_db()
    key.refresh_from_db()
    assert project.auto_deploy == "manual"
    assert key.is_active


def test_a_group_is_found_only_under_its_own_project(client, owner, project, merged_group):
    """Another project of the same account does not serve this project's group under its slug."""
    sibling = ProjectFactory(account=project.account, name="Admin site", slug="admin-site")
    client.force_login(owner)
    url = reverse("dashboard:group", kwargs={"slug": sibling.slug, "group_id": merged_group.pk})
    assert client.get(url).status_code == 404


def test_outsider_sees_only_their_own_projects(client, outsider, project):
    own = ProjectFactory(account=outsider.memberships.get().account, name="Eve's blog", slug="blog")
    client.force_login(outsider)
    response = client.get(reverse("dashboard:projects"))
    assert own.name in unescape(response.content.decode())
    assert "Shop" not in unescape(response.content.decode())


@pytest.mark.parametrize("name", PROJECT_PAGES)
def test_anonymous_visitors_are_sent_to_log_in(client, project, name):
    url = project_url(name, project)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_anonymous_run_poll_is_sent_to_log_in(client, merged_group):
    response = client.get(group_url("dashboard:group-runs", merged_group))
    assert response.status_code == 302


def test_member_reads_settings_but_cannot_change_them(client, member, project, policy):
    client.force_login(member)
    page = client.get(project_url("dashboard:settings", project))
    assert page.status_code == 200
    assert "only the account's owners and admins can change them" in unescape(page.content.decode())
    assert "Save settings" not in unescape(page.content.decode())

    response = client.post(project_url("dashboard:settings", project), policy(auto_deploy="ci_pass"))
    assert response.status_code == 403
    assert "Only the account's owners and admins can change" in unescape(response.content.decode())
    project.refresh_from_db()
    assert project.auto_deploy == "manual"
    assert not project.settings_changes.exists()


def test_member_cannot_rotate_the_key(client, member, project, key):
    client.force_login(member)
    response = client.post(project_url("dashboard:rotate-key", project))
    assert response.status_code == 403
    key.refresh_from_db()
    assert key.is_active
    assert project.keys.count() == 1


def test_admin_of_the_account_may_change_settings(client, account, project, policy):
    admin = MembershipFactory(
        account=account, user=UserFactory(username="ada"), role=Membership.Role.ADMIN
    ).user
    client.force_login(admin)
    response = client.post(project_url("dashboard:settings", project), policy(auto_deploy="ci_pass"))
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.auto_deploy == "ci_pass"


def test_owner_of_another_account_is_only_a_member_here(client, account, project, policy):
    """Roles are per account: owning one account gives no rights over another."""
    person = UserFactory(username="sam")
    MembershipFactory(account=AccountFactory(), user=person, role=Membership.Role.OWNER)
    MembershipFactory(account=account, user=person, role=Membership.Role.MEMBER)
    client.force_login(person)
    response = client.post(project_url("dashboard:settings", project), policy(auto_deploy="ci_pass"))
    assert response.status_code == 403


def test_actions_need_post(client, owner, merged_group):
    client.force_login(owner)
    assert client.get(group_url("dashboard:start-run", merged_group)).status_code == 405
    assert client.get(group_url("dashboard:group-status", merged_group, action="ignore")).status_code == 405


def test_unknown_group_action_is_404(client, owner, merged_group):
    client.force_login(owner)
    url = f"/projects/{merged_group.project.slug}/groups/{merged_group.pk}/delete/"
    assert client.post(url).status_code == 404


def test_keys_of_other_projects_are_untouched_by_rotation(client, owner, project, key):
    other_key = ProjectKeyFactory(project=ProjectFactory(account=project.account, slug="other-app"))
    client.force_login(owner)
    client.post(project_url("dashboard:rotate-key", project))
    other_key.refresh_from_db()
    assert other_key.is_active


@pytest.mark.parametrize(
    "url",
    [
        "/projects/shop/groups/999999999999999999999999/",
        "/projects/shop/groups/999999999999999999999999/runs.json",
        "/projects/" + "x" * 300 + "/",
        "/projects/no-such-project/settings/",
    ],
)
def test_addresses_that_name_nothing_are_404(client, owner, project, url):
    client.force_login(owner)
    assert client.get(url).status_code == 404
