"""Where a frame's file lives: the application's own code, a dependency's, or the language's own library.

Read by ingest (frames parsed from stack strings carry no ``in_app``) and by triage, which overrules an SDK's
``in_app`` with it. Paths are read with "/" separators.
"""

from __future__ import annotations

import re

# Third-party code, whatever the SDK's in_app says: package directories of every platform we ingest, read
# on paths whose separators are already "/" (``path_of``). Each alternative begins with a literal.
THIRD_PARTY_DIRECTORIES: tuple[str, ...] = (
    r"(?:^|/)(?:site|dist)-packages/",  # pip, any OS, any virtualenv layout
    r"(?:^|/)node_modules/",  # npm and Yarn; pnpm's node_modules/.pnpm/<name>@<version>/node_modules/<name>
    r"(?:^|/)\.yarn/(?:cache|unplugged)/",  # Yarn Plug'n'Play: packages read from zip archives
    r"(?:^|/)gems/",  # RubyGems and Bundler, with or without a leading directory
    r"(?:^|/)[A-Za-z][\w.-]{0,100}-\d+\.\d+[\w.]{0,50}/lib/",  # a gem's directory alone: jwt-2.1.0/lib/
    r"(?:^|/)vendor/",  # vendor/bundle (Bundler), Go's vendor/ directory, Composer
    r"/pkg/mod/",  # Go module cache
    r"(?:^|/)packages/[\w-]+:[\w-]+/",  # Meteor's Atmosphere packages: packages/<author>:<name>/
    r"@v\d+\.\d+\.\d+",  # a Go module built with -trimpath: github.com/org/mod@v1.2.3/file.go
)
THIRD_PARTY = re.compile("|".join(THIRD_PARTY_DIRECTORIES))
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
    r"/go-[\d.]+/src/",
    r"/(?:golang|libexec)/src/",  # GOROOT of Fedora's golang, and of Homebrew (Cellar/go/<v>/libexec/src/)
    r"/goroot/src/",
)
STANDARD_LIBRARY = re.compile("|".join(STANDARD_LIBRARY_LOCATIONS), re.IGNORECASE)
# ``npm install --global`` (and npx) puts the application being run under <prefix>/lib/node_modules/<name>/;
# its own files are the application's, however the SDK marked them. Its dependencies nest one level deeper.
GLOBAL_NODE_INSTALL = "/lib/node_modules/"


def is_globally_installed_application(path: str) -> bool:
    return GLOBAL_NODE_INSTALL in path and path.count("node_modules/") == 1


def is_library_path(path: str) -> bool:
    """Third-party or standard-library code, judged by where the file lives."""
    if is_globally_installed_application(path):
        return False
    return bool(THIRD_PARTY.search(path) or STANDARD_LIBRARY.search(path))
