"""Personas shared by every suite: an owner and a member of one account, and an outsider."""

import pytest

from bugstack.models import Membership
from ingest import spool
from tests.factories import AccountFactory, MembershipFactory, ProjectFactory, UserFactory


@pytest.fixture
def account(db):
    return AccountFactory(name="Acme", slug="acme")


@pytest.fixture
def project(account):
    return ProjectFactory(account=account, name="Shop", slug="shop")


@pytest.fixture
def owner(account):
    return MembershipFactory(
        account=account, user=UserFactory(username="olivia"), role=Membership.Role.OWNER
    ).user


@pytest.fixture
def member(account):
    return MembershipFactory(
        account=account, user=UserFactory(username="max"), role=Membership.Role.MEMBER
    ).user


@pytest.fixture
def outsider(db):
    other = AccountFactory(name="Other", slug="other")
    return MembershipFactory(account=other, user=UserFactory(username="eve"), role=Membership.Role.OWNER).user


@pytest.fixture(autouse=True)
def spool_dir(tmp_path, settings, monkeypatch):
    """Each test's accepted events wait in a spool of its own (and so do those of the processes it starts):
    what one test left undigested is never read against another's database."""
    directory = tmp_path / "spool"
    settings.BUGSTACK_SPOOL_DIR = directory
    monkeypatch.setenv("BUGSTACK_SPOOL_DIR", str(directory))
    yield directory
    spool.close_writer()
