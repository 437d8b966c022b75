"""The setup page's snippets work as shown: each is put into a minimal app and built or loaded with the
SDK from this checkout, its install line taken at its word."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from django.conf import settings

from dashboard.snippets import SNIPPETS

ROOT = Path(settings.BASE_DIR)


def snippet(slug: str):
    return next(s for s in SNIPPETS if s.slug == slug)


def test_the_go_snippet_builds_against_the_sdk(tmp_path):
    go = snippet("go")
    app = tmp_path / "app"
    app.mkdir()
    # The install line's go.mod lines, with the checkout's path where it says "../bugstack".
    requirements = [line for line in go.install.splitlines() if not line.startswith("#")]
    go_mod = "\n".join(line.replace("../bugstack", str(ROOT)) for line in requirements)
    (app / "go.mod").write_text(f"module example.com/shop\n\ngo 1.19\n\n{go_mod}\n")
    # The imports the snippet uses beside the SDK's, as an editor would add them.
    code = go.code.replace(
        'import bugstack "bugstack.dev/sdk/go"',
        'import (\n\t"log"\n\t"net/http"\n\t"time"\n\n\tbugstack "bugstack.dev/sdk/go"\n)',
    )
    (app / "main.go").write_text(f"package main\n\n{code}\n")

    env = {**os.environ, "GOPROXY": "off", "GOFLAGS": "-mod=mod", "GOCACHE": str(tmp_path / "cache")}
    built = subprocess.run(["go", "vet", "."], cwd=app, env=env, capture_output=True, text=True, timeout=300)

    assert built.returncode == 0, built.stderr


# The snippet's config.ru served by Rack with an app that fails: the middleware must be in place (it raises
# the error on after reporting it) and the SDK initialised from BUGSTACK_DSN.
RACK_PROBE = """
require "rack"
MyApp = ->(env) { raise ArgumentError, "boom" }
app = Rack::Builder.parse_file(ARGV[0])
app = app.first if app.is_a?(Array) # Rack 2 answers [app, options]
begin
  app.call(Rack::MockRequest.env_for("/"))
rescue ArgumentError
  puts "raised again"
end
puts Bugstack::Rack::Middleware.name, Bugstack.client.nil? ? "off" : "on"
"""


def test_the_ruby_snippet_serves_a_rack_app_through_the_middleware(tmp_path):
    rails = snippet("rails")
    assert 'path: "../bugstack/sdks/ruby"' in rails.install
    config = tmp_path / "config.ru"
    config.write_text(rails.code)
    env = {**os.environ, "BUGSTACK_DSN": "http://public-key@127.0.0.1:9/1"}
    probe = subprocess.run(
        ["ruby", "-I", str(ROOT / "sdks" / "ruby" / "lib"), "-e", RACK_PROBE, str(config)],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["raised", "again", "Bugstack::Rack::Middleware", "on"]
