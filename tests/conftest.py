"""Personas shared by every suite: an owner and a member of one account, and an outsider."""

import pytest

from bugstack.models import Membership
from ingest.accept import stop_appender
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


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """The test database, as pytest-django sets it up; before it is dropped, this process's appender stops.

    Events accepted outside a transaction go through the appender's thread, whose connection would keep
    the database from being dropped.
    """
    yield
    stop_appender()
