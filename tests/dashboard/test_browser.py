"""The dashboard in a real browser: Debian's Chromium driven by Playwright against a live server.

Screenshots land in var/screenshots/ as artifacts of the run.
"""

from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.urls import reverse
from playwright.sync_api import Page, expect, sync_playwright

from bugstack.models import Project
from pipeline.states import RunState, advance
from tests.factories import ErrorGroupFactory, EventFactory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def page(transactional_db, live_server, monkeypatch):
    """A fresh Chromium page; the browser closes before the database is flushed after the test."""
    # Playwright's sync API keeps an asyncio loop open in this thread while the browser lives. The test's own
    # ORM calls are still plain synchronous code, so Django's guard against ORM use inside a loop is lifted
    # for exactly that span (set before the browser starts, restored after it has stopped).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport=LAPTOP)
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        browser.close()
        # The test's queries (and its later fixtures') ran while Playwright's loop was open, in a context
        # of their own whose connection nothing else closes; left open, PostgreSQL refuses to drop the test
        # database at the end of the session. Closed here, still inside that context.
        connections.close_all()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def log_in(page: Page, live_server, username: str) -> None:
    page.goto(live_server.url + reverse("login"))
    screenshot(page, "login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()


def test_review_a_merged_fix(page, live_server, owner, project, merged_group):
    log_in(page, live_server, owner.username)
    screenshot(page, "projects")

    page.get_by_role("link", name="Shop").click()
    expect(page.get_by_role("heading", name="Errors")).to_be_visible()
    screenshot(page, "groups")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "groups-phone")
    page.set_viewport_size(LAPTOP)

    page.get_by_role("link", name=merged_group.title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(merged_group.title)

    timeline = page.get_by_role("list", name=f"Stages of run {merged_group.runs.get().pk}")
    stages = timeline.locator(".step-title strong").all_inner_texts()
    assert stages[0] == "Queued" and stages[-1] == "Merged"
    assert stages.count("Awaiting CI") == 2 and "CI failed" in stages
    expect(page.locator(".story")).to_contain_text("Error → pull request in 6.5 s")
    expect(page.get_by_role("link", name="Pull request #7")).to_have_attribute(
        "href", "https://github.com/acme/shop/pull/7"
    )

    # The last attempt is open: its diff shows the added guard in green and the replaced line in red.
    diff = page.get_by_label("Changes to shop/cart.py").last
    added = diff.locator(".diff-line.add", has_text="if not items:")
    expect(added).to_be_visible()
    removed = diff.locator(".diff-line.del")
    expect(removed).to_have_text("-    return total / len(items)")
    added_colour = added.evaluate("line => getComputedStyle(line).backgroundColor")
    removed_colour = removed.evaluate("line => getComputedStyle(line).backgroundColor")
    plain_colour = diff.locator(".diff-line.context").first.evaluate(
        "line => getComputedStyle(line).backgroundColor"
    )
    assert len({added_colour, removed_colour, plain_colour}) == 3

    # The in-app frame is expanded with its source; the library frame is collapsed.
    expect(page.locator(".frame.in-app .error-line")).to_contain_text("return total / len(items)")
    expect(page.locator("details.frame:not(.in-app)")).not_to_have_attribute("open", "")
    screenshot(page, "group-merged-fix")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "group-merged-fix-dark")
    page.emulate_media(color_scheme="light")

    page.set_viewport_size(PHONE)
    expect(page.locator(".story")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "group-merged-fix-phone")

    page.set_viewport_size(LAPTOP)
    page.get_by_role("link", name="Fix history").click()
    expect(page.get_by_role("heading", name="Fix history")).to_be_visible()
    expect(page.locator(".stat", has_text="Fix rate")).to_contain_text("100%")
    screenshot(page, "fix-history")


def test_owner_changes_the_auto_deploy_policy(page, live_server, owner, project):
    log_in(page, live_server, owner.username)
    page.goto(live_server.url + reverse("dashboard:settings", args=[project.slug]))

    page.get_by_label("Merge when CI passes and confidence ≥ threshold").check()
    page.get_by_label("Confidence threshold").fill("0.9")
    page.get_by_role("button", name="Save settings").click()

    expect(page.get_by_role("status")).to_contain_text("Saved: auto-deploy policy, confidence threshold.")
    history = page.get_by_role("table")
    expect(history).to_contain_text("olivia")
    expect(history).to_contain_text("Manual: stop at review")
    expect(history).to_contain_text("0.8")
    screenshot(page, "settings-after-change")

    project.refresh_from_db()
    assert project.auto_deploy == Project.AutoDeploy.CONFIDENCE
    assert project.confidence_threshold == 0.9

    page.set_viewport_size(PHONE)
    screenshot(page, "settings-phone")


def test_member_sees_the_policy_read_only(page, live_server, member, project):
    log_in(page, live_server, member.username)
    page.goto(live_server.url + reverse("dashboard:settings", args=[project.slug]))
    expect(page.get_by_role("note")).to_contain_text("only the account's owners and admins can change them")
    expect(page.get_by_label("Manual: stop at review")).to_be_disabled()
    expect(page.get_by_role("button", name="Save settings")).to_have_count(0)


def test_start_a_run_and_watch_it_move(page, live_server, owner, project):
    group = ErrorGroupFactory(project=project, title="KeyError: 'sku'")
    EventFactory(group=group)

    log_in(page, live_server, owner.username)
    page.goto(live_server.url + reverse("dashboard:group", args=[project.slug, group.pk]))
    page.get_by_role("button", name="Start a fix run").click()

    run = group.runs.get()
    expect(page.get_by_role("status")).to_have_text(f"Fix run #{run.pk} queued.")
    badge = page.locator(f"#runs [data-run-state='{run.pk}']")
    expect(badge).to_have_text("Queued")
    expect(page.get_by_role("button", name="Start a fix run")).to_be_disabled()

    # The pipeline moves the run; the open page follows without a reload.
    assert advance(run.pk, RunState.QUEUED, RunState.TRIAGING)
    expect(badge).to_have_text("Triaging")
    assert advance(run.pk, RunState.TRIAGING, RunState.OUT_OF_SCOPE, "a database outage, not a code error")

    expect(badge).to_have_text("Out of scope")
    expect(page.locator("#runs .step-detail")).to_have_text("a database outage, not a code error")
    expect(page.get_by_role("button", name="Start a fix run")).to_be_enabled()
    screenshot(page, "group-live-refresh")


def test_setup_page_shows_the_dsn(page, live_server, owner, project, key):
    log_in(page, live_server, owner.username)
    page.goto(live_server.url + reverse("dashboard:setup", args=[project.slug]))
    expect(page.get_by_role("textbox", name="DSN")).to_have_value(key.dsn)
    expect(page.locator("details.snippet[open] summary")).to_have_text("Python · Django")
    screenshot(page, "setup")
