"""Where a frame's file lives: the application's own code, a dependency's, or the language's own library.

Read by ingest (frames parsed from stack strings carry no ``in_app``) and by triage, which overrules an SDK's
``in_app`` with it. Paths are read with "/" separators.
"""

from __future__ import annotations

import re

# vendor/bundle (Bundler), Composer: vendor/<name>/; Go vendors by import path, vendor/github.com/org/name/.
# Named because a runtime shipped inside an application's vendor/ (vendor/ruby-2.2.1/) is not a package.
VENDOR = r"^.*(?:^|/)vendor/(?P<name>[^/]*\.[^/]*/[^/]+/[^/]+(?=/)|[^/]*)"
# Meteor's Atmosphere packages: packages/<author>:<name>/
METEOR_PACKAGE = r"(?:^|/)packages/(?P<name>[\w-]+:[\w-]+)/"
# Third-party code, whatever the SDK's in_app says: how each platform's installers lay packages out, read on
# paths whose separators are already "/" (``path_of``). Each pattern finds a layout's directory and names the
# package in the group ``name``; ``^.*`` in front takes the directory's last occurrence (a dependency's own
# dependencies nest inside it), tried once per path. The first layout that matches names the package.
PACKAGE_LAYOUTS: tuple[str, ...] = (
    # Go module cache: /go/pkg/mod/github.com/org/mod@v1.2.3/file.go
    r"/pkg/mod/(?P<name>[^@]+)",
    # npm and Yarn; pnpm's node_modules/.pnpm/<name>@<version>/node_modules/<name>; scoped @org/name
    r"^.*(?:^|/)node_modules/(?P<name>@[^/]+/[^/]+|[^/]+)",
    # RubyGems and Bundler, with or without a leading directory: gems/<name>-<version>[-<platform>]/
    r"^.*(?:^|/)gems/(?P<name>[^/]+?)(?:-\d[\w.]*(?:-[\w-]+)?)?(?:/|$)",
    # A Go module built with -trimpath: github.com/org/mod@v1.2.3/file.go (the name begins after the leading
    # slashes, so that a run of them is not given back one by one: linear on any path)
    r"^/*(?P<name>(?:[^/].*?)?)@v\d+\.\d+\.\d+",
    # Yarn Plug'n'Play: packages read from zip archives (the archive's name carries the package's)
    r"(?:^|/)\.yarn/(?:cache|unplugged)/(?P<name>)",
    METEOR_PACKAGE,
    VENDOR,
    # pip, any OS, any virtualenv layout: the top-level module, or an egg's name (<name>-<version>-py<X>.egg)
    r"^.*(?:^|/)(?:site|dist)-packages/(?P<name>[^/]*?)(?:-(?=\d)[^/]*\.egg|\.py)?(?:/|$)",
    # An egg's files under the path setuptools built it in, which its code objects keep: build/bdist.<os>/egg/
    r"(?:^|/)build/bdist\.[^/]+/egg/(?P<name>[^/]+?)(?:\.py)?(?:/|$)",
    # A gem's file as Rails' backtrace cleaner prints it: "rack (2.2.10) lib/rack/builder.rb"
    r"^(?P<name>[A-Za-z][\w.-]{0,100}) \(\d[\w.]{0,50}\) ",
    # A gem's directory quoted alone: jwt-2.1.0/lib/
    r"(?:^|/)(?P<name>[A-Za-z][\w.-]{0,100}?)-\d+\.\d+[\w.]{0,50}/lib/",
)
LAYOUTS = tuple(re.compile(layout) for layout in PACKAGE_LAYOUTS)
# Any layout at all: one pattern of them all, their groups unnamed (a pattern may not name two groups alike).
THIRD_PARTY = re.compile("|".join(f"(?:{layout.replace('?P<name>', '')})" for layout in PACKAGE_LAYOUTS))
# The language's own library and runtime: neither the application's code nor a dependency's. Go's lives in
# GOROOT (/usr/local/go/src/net/...), whose packages have no dot in their first element; an application
# built inside GOPATH (/go/src/github.com/org/app/...) does.
STANDARD_LIBRARY_LOCATIONS: tuple[str, ...] = (
    r"^<frozen ",
    r"^<anonymous>$",
    r"^<internal:",
    r"^node:",
    r"^internal/",
    r"/lib/python\d[\d.]*/",
    r"/python\d+/lib/",  # Windows: C:\Python311\Lib\, …\Programs\Python\Python311\Lib\
    r"/lib/ruby/(?:site_ruby/)?\d",
    r"\w/go/src/[\w-]+/",  # GOROOT (/usr/local/go/src/net/); /go/src/app/ is GOPATH, an application
    r"^[a-z]:/(?:program files/)?go/src/[\w-]+/",  # GOROOT on Windows: C:\Go\src\, C:\Program Files\Go\src\
    r"/go-[\d.]+/src/",
    r"/(?:golang|libexec)/src/",  # GOROOT of Fedora's golang, and of Homebrew (Cellar/go/<v>/libexec/src/)
    r"/goroot/src/",
)
STANDARD_LIBRARY = re.compile("|".join(STANDARD_LIBRARY_LOCATIONS), re.IGNORECASE)
# Node applications run from where a package manager installed them; their own files are the application's,
# however the SDK marked them, and their dependencies nest one level deeper. ``npm install --global`` (and
# npx) puts one under <prefix>/lib/node_modules/<name>/, on Windows under %APPDATA%\npm\node_modules\<name>\.
GLOBAL_NODE_INSTALLS = ("/lib/node_modules/", "/AppData/Roaming/npm/node_modules/")
# ioBroker runs each adapter as a process of its own from <root>/node_modules/iobroker.<adapter>/; the
# controller (iobroker.js-controller) is a library the adapter calls.
IOBROKER_ADAPTER = re.compile(r"(?:^|/)node_modules/iobroker\.(?!js-controller/)[\w.-]+/")


def is_installed_application(path: str) -> bool:
    if path.count("node_modules/") != 1:
        return False
    return any(prefix in path for prefix in GLOBAL_NODE_INSTALLS) or bool(IOBROKER_ADAPTER.search(path))


def package_of(path: str) -> str:
    """The third-party package a path belongs to, or "" when it is not third-party code (or its name is not
    in the path, as in Yarn's zip archives)."""
    if is_installed_application(path):
        return ""
    for layout in LAYOUTS:
        found = layout.search(path)
        if found:
            if layout.pattern == VENDOR and STANDARD_LIBRARY.search(path):
                return ""  # a runtime shipped inside the application (vendor/ruby-2.2.1/)
            return found.group("name")
    return ""


def is_library_path(path: str) -> bool:
    """Third-party or standard-library code, judged by where the file lives."""
    if is_installed_application(path):
        return False
    return bool(THIRD_PARTY.search(path) or STANDARD_LIBRARY.search(path))
