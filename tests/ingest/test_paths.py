"""Where a frame's file lives: each platform's package layout names its package, in one table."""

from __future__ import annotations

import pytest

from ingest.paths import is_library_path, package_of

PACKAGES = [
    ("/go/pkg/mod/github.com/hashicorp/go-memdb@v1.3.0/txn.go", "github.com/hashicorp/go-memdb"),
    ("github.com/gin-gonic/gin@v1.9.1/context.go", "github.com/gin-gonic/gin"),  # built with -trimpath
    ("/srv/app/node_modules/express/lib/router/index.js", "express"),
    ("/srv/app/node_modules/@prisma/client/runtime/index.js", "@prisma/client"),
    ("/app/node_modules/.pnpm/pg@8.11.0/node_modules/pg/lib/client.js", "pg"),
    ("/usr/local/bundle/gems/nokogiri-1.10.4-x86_64-linux/lib/nokogiri.rb", "nokogiri"),
    ("gems/activerecord-6.1.7/lib/active_record/base.rb", "activerecord"),
    ("jwt-2.1.0/lib/jwt/decode.rb", "jwt"),
    ("sidekiq (7.3.4) lib/sidekiq/api.rb", "sidekiq"),  # as Rails' backtrace cleaner prints a gem's file
    ("/app/vendor/bundle/ruby/3.1.0/gems/rack-2.2.8/lib/rack/builder.rb", "rack"),
    ("/app/vendor/github.com/lib/pq/conn.go", "github.com/lib/pq"),
    ("/bundle/programs/server/packages/ostrio:files/server.js", "ostrio:files"),
    ("C:/app/venv/Lib/site-packages/flask/app.py", "flask"),
    ("/usr/lib/python3/dist-packages/six.py", "six"),
    ("/l/site-packages/requests-2.0-py2.7.egg/requests/api.py", "requests"),
    ("build/bdist.linux-x86_64/egg/telepot/__init__.py", "telepot"),  # an egg's files as setuptools built it
    # ioBroker's controller, which an adapter calls, and an adapter's own dependency
    ("/opt/iobroker/node_modules/iobroker.js-controller/lib/adapter.js", "iobroker.js-controller"),
    ("/opt/iobroker/node_modules/iobroker.ping/node_modules/ping/index.js", "ping"),
]

NOT_PACKAGES = [
    "/srv/app/shop/views.py",  # the application's own
    "/usr/lib/python3.11/json/decoder.py",  # the language's own
    "/usr/local/go/src/net/http/server.go",
    "node:internal/process/task_queues",
    "/app/vendor/ruby-2.2.1/lib/ruby/2.2.0/net/http.rb",  # a runtime shipped in the application's vendor/
    "/usr/local/lib/node_modules/mycli/lib/run.js",  # an application installed globally is the application
    "C:/Users/me/AppData/Roaming/npm/node_modules/mycli/cli.js",  # the same on Windows (%APPDATA%\\npm)
    "/opt/iobroker/node_modules/iobroker.ping/main.js",  # an ioBroker adapter, run as a process of its own
]


@pytest.mark.parametrize(("path", "package"), PACKAGES)
def test_each_layout_names_its_package(path, package):
    assert package_of(path) == package
    assert is_library_path(path)


@pytest.mark.parametrize("path", NOT_PACKAGES)
def test_the_application_and_the_runtime_are_no_package(path):
    assert package_of(path) == ""


# A long run of one layout's directory (or of a near miss) before the file: the last one counts, and the
# patterns read the run once, not once from each place they could start (``bench/hostile_ingest.py`` measures
# the CPU; test_linear_time.py explains the sizes).
HOSTILE = [
    ("node_modules/", "pkg/index.js", "pkg"),
    ("vendor/", "pkg/lib/pkg.rb", "pkg"),
    ("site-packages/", "flask/app.py", "flask"),
    ("gems/", "rack-2.2.8/lib/rack.rb", "rack"),
    ("x@", "v1.2/main.go", ""),
    ("a-1.1", "/srv/app/views.py", ""),
    ("a/", "views.py", ""),
]


@pytest.mark.parametrize("size", [16 * 1024, 256 * 1024])
@pytest.mark.parametrize(("token", "end", "package"), HOSTILE)
def test_hostile_paths_are_read_whole(token, end, package, size):
    assert package_of(token * (size // len(token)) + end) == package
