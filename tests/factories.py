"""factory-boy factories for the models every test suite needs."""

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from bugstack.models import Account, Membership, Project, ProjectKey
from ingest.models import ErrorGroup, Event
from integrations.models import Credential
from pipeline.models import FixAttempt, FixRun, Transition


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-for-tests")


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n}")
    slug = factory.Sequence(lambda n: f"account-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    account = factory.SubFactory(AccountFactory)
    role = Membership.Role.MEMBER


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")
    repository = "acme/shop"


class ProjectKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProjectKey

    project = factory.SubFactory(ProjectFactory)


class CredentialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Credential

    account = factory.SubFactory(AccountFactory)
    kind = Credential.Kind.GITHUB
    secret = factory.Sequence(lambda n: f"ghp_testtoken{n:030d}")


class ErrorGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ErrorGroup

    project = factory.SubFactory(ProjectFactory)
    fingerprint = factory.Sequence(lambda n: f"{n:064x}")
    title = "ZeroDivisionError: division by zero"
    culprit = "shop/cart.py in average_price"
    exception_type = "ZeroDivisionError"
    platform = "python"
    times_seen = 1
    first_seen = factory.LazyFunction(timezone.now)
    last_seen = factory.LazyFunction(timezone.now)


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    group = factory.SubFactory(ErrorGroupFactory)
    project = factory.SelfAttribute("group.project")
    timestamp = factory.LazyFunction(timezone.now)
    platform = "python"
    exception_type = "ZeroDivisionError"
    message = "division by zero"
    data = factory.LazyAttribute(
        lambda e: {"exception": {"values": [{"type": e.exception_type, "value": e.message}]}}
    )


class FixRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FixRun

    group = factory.SubFactory(ErrorGroupFactory)
    project = factory.SelfAttribute("group.project")


class FixAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FixAttempt

    run = factory.SubFactory(FixRunFactory)
    number = factory.Sequence(lambda n: n + 1)


class TransitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transition

    run = factory.SubFactory(FixRunFactory)
    from_state = "queued"
    to_state = "triaging"
