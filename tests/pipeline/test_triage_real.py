"""Triage on real production errors: each case taken from a public issue thread that settles its cause.

The synthetic corpus (``triage_cases/``) holds what the rules were written from; this one holds what
applications really threw, labelled by their own threads, so it measures how the rules hold on errors they
were not written from.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from pipeline.triage import classify
from tests.pipeline.test_triage import confusion_matrix

CASES = Path(__file__).parent / "triage_real"
PLATFORMS = ("python", "node", "ruby", "go")
LABELS = ("code", "infrastructure", "configuration", "dependency")
KEYS = {"category", "source", "settled_by", "note", "event"}


def load_cases() -> list[tuple[str, dict]]:
    return [(path.stem, json.loads(path.read_text())) for path in sorted(CASES.glob("*.json"))]


def test_every_case_names_its_thread_and_how_the_thread_settled_it():
    for name, case in load_cases():
        assert set(case) == KEYS, name
        assert case["category"] in LABELS, name
        assert re.match(r"https://github\.com/[\w.-]+/[\w.-]+/(?:issues|pull)/\d+$", case["source"]), name
        assert case["settled_by"].strip() and case["note"].strip(), name
        assert case["event"]["platform"] in PLATFORMS, name
        assert case["event"]["exception"]["values"], name


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_corpus_holds_real_errors_of_every_platform(platform):
    cases = [case for _, case in load_cases() if case["event"]["platform"] == platform]
    assert len(cases) >= 25, f"{len(cases)} {platform} cases"


def test_the_corpus_holds_enough_out_of_scope_errors():
    labels = Counter(case["category"] for _, case in load_cases())
    assert labels["infrastructure"] + labels["configuration"] + labels["dependency"] >= 0.4 * labels.total()


def report(cases: list[tuple[str, dict]]) -> tuple[float, str]:
    results = [(case["category"], classify(case["event"]).category) for _, case in cases]
    accuracy = sum(expected == got for expected, got in results) / len(results)
    # Whether a run starts at all: code against any of the out-of-scope categories.
    code_or_not = sum((expected == "code") == (got == "code") for expected, got in results) / len(results)
    summary = f"triage accuracy {accuracy:.1%} on {len(results)} real events"
    summary += f" ({code_or_not:.1%} right on code or not)"
    return accuracy, f"{summary}\n{confusion_matrix(results)}"


# Where triage stands on these errors today, as this test prints it (75.6% right, 15.0% of out-of-scope errors
# classed as code, 19.9% of code errors not classed as code: 18.5% classed out of scope and 1.4% held as
# uncertain for a person; on the 2,263 cases with a stack 77.3% right): each figure may only move towards the
# goal of accuracy >= 92%, at most 3% of out-of-scope errors classed as code and at most 3% of code errors
# missed, except when a held-out set joins the corpus. An uncertain verdict counts as
# wrong and, for a code error, as missed: it is held, not fixed, until a person asks. Many of the remaining
# errors are out-of-scope errors given the wrong out-of-scope category (a refused connection to localhost is
# as often a setting as an outage), which reach no model either way; many others were settled by a change to
# the application although the event names an outside cause (a reset connection nobody handled, a file
# mode the application set), or the reverse. `module 'flask.json' has no attribute 'JSONEncoder'` is missed
# on purpose: a version clash by the same reading as `cannot import name`, though its thread fixed the code.
#
# How the rules hold on errors they were not written from. After the first 216 cases, the rest came in
# held-out sets of about 60, collected from threads without reading or running the rules, each scored before
# any rule was changed for it (right / out of scope classed as code / code missed):
#   set 1 (61): 68.9% / 29.4% / 14.8% with the rules of the first 216 cases
#   set 2 (43): 60.5% / 13.0% / 15.0% and set 3 (61): 57.4% / 26.5% / 25.9%, the same rules
#   set 4 (61): 65.6% / 14.7% / 14.8% with those rules, 67.2% / 14.7% / 14.8% with the signals from sets 1-3
#   set 5 (60): 65.0% / 8.6% / 16.0% with those first rules, 70.0% / 8.6% / 16.0% with the signals from
#   sets 1-4 (file-descriptor limits, Windows' and database clients' words, a module called as a class,
#   runtimes older than the code, service names a network lacks, files the SDK places outside the
#   application wherever they live).
#   set 6 (56): 62.5% / 15.6% / 16.7% with the first rules and, no better, with the signals from sets 1-5.
#   set 7 (60): 53.3% / 11.4% / 32.0% with the signals from sets 1-6; 66.7% / 11.4% / 24.0% once its own
#   signals were added (a port no service name resolves, a self-signed certificate as trust, etcd's space
#   quota, a worker killed by SIGKILL, a program not installed, Prometheus' duplicate registration, Rails'
#   autoloader naming a file of the application). Its threads were read through search excerpts only, and
#   30 of its 60 cases have no stack.
#   set 8 (60, every case with a stack): 66.7% / 28.6% / 16.0% with the signals from sets 1-7; 73.3% / 20.0% /
#   16.0% with its own (gems as Rails' backtrace cleaner prints them, "requires a secret or key", a
#   hosted database's space quota, a lost connection, Discord's privileged intents). Most of what it
#   still gets wrong is a setting or a library's change that surfaced as a programming error in the
#   application's own frame (an undefined value, a nil), which the event does not tell from a bug.
#   set 9 (31, every case with a stack; collection stopped when the search budget ran out, so it leans to
#   code errors, 19 of 31): 80.6% / 16.7% / 5.3% with the signals from sets 1-8; 83.9% / 8.3% / 5.3% once a
#   module missing at a path inside an installed package counted as that package's broken installation.
#   set 10 (60, every case with a stack, 28 code): 60.0% / 31.2% / 39.3% with the signals from sets 1-9;
#   78.3% / 15.6% / 21.4% with its own: a package the SDK marks in-app while marking other frames not (its
#   in_app_include: an application installed as a package, a CLI run from its gem) is the application's,
#   except vendored and Go files, which SDKs mark in-app by themselves; a Go stack taken where a panic was
#   recovered is read below the runtime's panic; a name registered twice by a package (an HTTP route, a
#   flag) is a clash of packages; a certificate file with no PEM in it; mgo's "no reachable servers";
#   discord.py's privileged intents; `X | None` on a Python older than 3.10; Nest's dependency injection
#   naming the application's wiring. Four of the five code errors it gained are CLIs and libraries whose
#   own thread it was, marked in-app as their SDK would be told to.
#   set 11 (80, every case with a stack, 40 code): 73.8% / 27.5% / 15.0% with the signals from sets 1-10;
#   78.8% / 22.5% / 12.5% with its own: a message that is "Unauthorized" and nothing else, whatever the
#   exception's type; a library's method_missing passing a call on to the application's object; what raises
#   inside a monitoring agent (APM, tracing, metrics, error reporting: 8 of 8 dependency in the corpus).
#   Ruby's "wrong number of arguments" between two frames of libraries joined the API mismatches before it
#   was scored (5 of 5 dependency). What it still gets wrong is mostly undecidable from the event: a nil in
#   the application's frame because a service was down or a setting missing, a refused localhost that was
#   a setting, an application that panics on an error it should have handled.
#   set 12 (21, every case with a stack; partial, the search budget ran out mid-collection, and four threads
#   that did not settle their cause were dropped): 61.9% / 9.1% / 40.0% with the signals from sets 1-11.
#   It added none: three of its four missed code errors are Psych 4 refusing YAML aliases, settled by the
#   code asking for them where the corpus's other five were settled by pinning Psych, so that rule's
#   confidence went down to a plausible one instead.
#   set 13 (69, every case with a stack, 22 code; 77 collected, 7 dropped as threads already in the corpus and
#   one as not settled): 65.2% / 34.0% / 13.6% with the signals from sets 1-12 (72.5% right on code or not);
#   73.9% / 25.5% / 13.6% (78.3%) with its own: storage that failed rather than filled (an I/O error, a
#   corrupt database file), Elasticsearch blocking writes at its disk's flood stage, a host that gives no
#   more threads, and a parser naming a file of settings it could not read. A relative require failing in
#   a package's own file was tried as the package's broken installation and left out: the corpus has as
#   many cases of a package handed a wrong relative path by the application.
#   set 14 (73, every case with a stack, 29 code): 76.7% / 27.3% / 10.3% with the signals from sets 1-13
#   (79.5% right on code or not; 75.3% / 29.5% / 10.3% with those from sets 1-12: set 13's parser naming a
#   file of settings gained one); 83.6% / 15.9% / 10.3% (86.3%) with its own: configparser's missing
#   section or option (it reads a settings file that is not there as an empty one), OpenSSL 3 refusing a
#   hash an older package asks for, a decoder failing in the application's function that loads its
#   configuration, and a file Node was started with that does not exist.
#   set 15 (65, every case with a stack, 25 code; one more dropped, a session typed into the interpreter):
#   67.7% / 25.0% / 16.0% with the signals from sets 1-14 (78.5% right on code or not; 67.7% / 27.5% /
#   16.0% with those from sets 1-12); 76.9% / 15.0% / 16.0% (84.6%) with its own: MySQL refusing text its
#   tables' character set cannot hold, a Kubernetes kind whose definition was not installed, an illegal
#   instruction, Go's SIGBUS on a memory-mapped file, a read-only filesystem in CircuitPython's spelling,
#   and a settings JSON file that is not there. Two of them also settled corpus cases (set 13's SIGBUS,
#   set 14's charset).
#   set 16 (31, every case with a stack, 12 code; partial, the search budget was nearly spent): 61.3% /
#   42.1% / 16.7% with the signals from sets 1-15, as with those from sets 1-12 (67.7% right on code or
#   not); 67.7% / 31.6% / 16.7% (74.2%) with its own: Python built-ins newer than the runtime
#   (ModuleNotFoundError on 3.5) and dotenv's .env file not there.
#   set 17 (80, every case with a stack, 36 code; 20 a platform): 73.8% / 22.7% / 16.7% with the signals from
#   sets 1-16 (80.0% right on code or not); 82.5% / 13.6% / 11.1% (87.5%) with its own: npm's global prefix
#   on Windows (%APPDATA%\npm\node_modules), a tool run from its gem's executable (its files are the
#   application's), a service or daemon "not running" and a remote's rate limit, a malformed connection
#   string (DSN), a credential handed to a library as nothing ("expected token to be a str"), Go's
#   check(err)/must helpers read through to their caller, and Meteor's name for the Monti APM agent. On the
#   corpus they gained three cases and lost two: a tool's executable that called into another gem (vagrant
#   loading a stale plugin's native gem) or that was fixed by upgrading it now reads as the tool's own code.
#   set 18 (83, every case with a stack, 33 code; 21 Ruby, 22 Python): 53.0% / 28.0% / 45.5% with the signals
#   from sets 1-17 (65.1% right on code or not); 69.9% / 18.0% / 33.3% (75.9%) with its own: the
#   application's own file of settings missing (config.py, ../config/config.json: made at deployment from an
#   example), a schema error while migrations run (Rails' "all later migrations canceled", a migration's
#   file on the stack) as the migration's code, a Ruby stack of nothing but a gem's frames marked in-app (the
#   Ruby SDKs mark a gem in-app only when told to; Python's old SDKs marked every frame), NATS' and Kafka's
#   clients finding no server, "Service Unavailable" in any order, an empty host and port ("dial tcp :0"), a
#   Kubernetes RBAC refusal, Google's default credentials not found, an Airflow connection not defined,
#   and Ruby reading text in the US-ASCII locale. Its code errors were hard: seven of the eleven still missed
#   are tools and adapters run from installed packages, or errors an outside cause raised that the thread
#   fixed in the code (a retry, a connection limit, a column another program dropped).
#   set 19 (52, every case with a stack, 18 code; partial, the session's search budget ran out): 76.9% /
#   11.8% / 27.8% with the signals from sets 1-18 (82.7% right on code or not); 80.8% / 5.9% / 27.8% (86.5%)
#   with its own: a Go runtime too old for the operating system it runs on (macOS' bsdthread_register and
#   MSpanList_Insert; it also settled set 17's confd), and an environment variable named as the shell names
#   it ("$HOME is not defined"). All five code errors it misses name an outside cause (an unreachable
#   network, a timeout, no memory, a SIGKILL) that the thread fixed by handling it in the code.
#   Then four words the corpus already held: Ruby's "incompatible library version" (a native extension
#   built for another Ruby), protobuf's "duplicate enum registered", "cannot load such file" with the dash
#   some pages print, and a bot's token refused as "invalid bot token" (+3 cases).
#   set 20 (6, every case with a stack, 3 code; the last look-ups of a session's budget, three more threads
#   dropped as not settled): 83.3% / 0.0% / 0.0% with the signals from sets 1-19; 100% with its own,
#   discord.js' TOKEN_INVALID as the credentials configured.
#   set 21 (79, every case with a stack, 36 code; one more dropped, a thread closed with no fix shown):
#   59.5% / 27.9% / 38.9% with the signals from sets 1-20 (67.1% right on code or not); 73.4% / 9.3% /
#   30.6% (81.0%) with its own: a tool's own frames under its gem's executable were still read as a
#   library's when the SDK marked them not in-app (a bug: its own method missing read as two gems that
#   disagree); a Go program installed from the module cache is the module holding main.main; a Ruby file
#   named by its load path (daemons/pidfile.rb, as Sentry's Ruby SDKs send it) is a gem's unless Ruby's
#   own; configparser's KeyError for a section the settings file lacks; a parser failing in the
#   application's config.py (a SyntaxError of a settings file written in Python); a directory where a
#   file of settings should be (a container's volume); "must provide consumer_key"; a storage device
#   gone ("no such device"). On the cases before it they traded one for one: a Ruby stack cut short
#   inside ActiveSupport now reads as the gem's (a code error missed), another such stack is gained (a
#   dependency no longer classed as code); the rest changed only reasons.
#   Most of the code errors it still misses were fixed in the code although the event names an outside
#   cause or an old runtime (a password not escaped, fetch on Node 16, a US-ASCII locale).
#   set 22 (78, every case with a stack, 36 code; two more dropped, a message completed by its collector and
#   a trace of another program than the thread's): 57.7% / 33.3% / 33.3% with the signals from sets 1-20
#   (66.7% right on code or not), 59.0% / 31.0% / 33.3% (67.9%) with set 21's; 69.2% / 26.2% / 25.0%
#   (74.4%) with its own: an ioBroker adapter, which ioBroker runs as a process of its own from its
#   node_modules (three of its code errors and one of the corpus's), an exception named for the
#   configuration (LogStash::ConfigurationError, ActiveRecord::AdapterNotSpecified), AWS' SDKs finding no
#   credentials, discord.js' "Incorrect login details", and bbolt's "page already freed" (a corrupt
#   database file). Of the nine code errors it still misses, six name an outside cause the application
#   did not handle (an unreachable host, DNS, no memory, a timeout, a certificate, a port taken) and one a
#   settings file opened from the wrong directory; several settings surface only as a nil or undefined
#   value in the application's code.
#   set 23 (34, every case with a stack, 15 code; partial, the session's search budget ran out): 61.8% /
#   15.8% / 26.7% with the signals from sets 1-20, and no better with sets 21's and 22's (79.4% right on
#   code or not); 64.7% with its own, Docker Desktop's host.docker.internal not resolving as a setting.
#   Its other errors are label questions: a port held by a forgotten process (labelled the host's), a
#   directory's owner, an outside cause the application's code was changed to handle.
#   set 24 (43, every case with a stack, 21 code): 65.1% / 27.3% / 28.6% with the signals from sets 1-23
#   (72.1% right on code or not); 67.4% / 22.7% / 28.6% with its own, a library naming the remedy (protobuf's
#   "Downgrade the protobuf package", "must be regenerated with protoc >= 3.19.0") as a dependency's. What
#   stays wrong: a log file's permissions (labelled the host's, the code's or a setting's by three threads),
#   a tool run from its gem or module cache whose trace was cut before its own entry point, a plugin made
#   for another version of the tool that loads it, Go panics whose message lost the path they failed on.
#   set 25 (57, every case with a stack, 23 code; its Python cases carry the source lines their threads
#   print): 63.2% / 35.3% / 17.4% with the signals from sets 1-23 (71.9% right on code or not); 64.9% with
#   set 24's (its protobuf remedy caught one more); 66.7% / 29.4% / 17.4% with its own, a decoder failing on
#   the application's line that loads its configuration (``config = json.loads(f.read())``). Tried and
#   left out: a KeyError on the application's line that subscripts its configuration (``config["TOKEN"]``):
#   1 case for, 2 in the corpus against (a key the code itself should have defaulted). What stays wrong:
#   a port held by another process (the host's in two threads; a setting in 14 of the corpus's 21), an
#   outdated runtime or library behind a plain NoMethodError or nil dereference, a setting missing from a
#   plugin's section that only surfaces as `undefined` in the tool that loads it.
#   set 26 (72, 54 with a stack, 34 code; its collectors were told less of the corpus's conventions):
#   65.3% / 18.4% / 35.3% with the signals from sets 1-25 (73.6% right on code or not); 68.1% once two
#   Node-RED nodes' own files were marked in-app, as the corpus marks the package whose thread it is (their
#   collector had marked them a library's); 76.4% / 5.3% / 29.4% (83.3%) with its own: Node methods newer
#   than the runtime (flat and flatMap, Node 11), a library naming the release that removed what the code
#   uses ("`np.NaN` was removed in the NumPy 2.0 release"), an error raised inside RubyGems or Bundler (9 of
#   9 in the corpus were the installation's; it settled two set-26 cases and one of the corpus's, all the
#   same RubyGems bug), a server error 503 in a client's words, and Go's HTTP client handed an address with
#   no scheme (""). A file the application opens by a relative path that is not there, found in the corpus
#   before set 26 was scored (3 cases gained, none lost: the program started from another directory),
#   settled none of set 26's. What stays wrong: outside causes the thread fixed in the code (a DNS failure
#   with no error handler, a log directory's permissions, too many open files), and a plugin made for another
#   version of what loads it, seen only as `undefined is not a function`.
#   set 27 (71, 52 with a stack, 30 code; one more dropped, a second thread of a crash the corpus held):
#   53.5% / 22.0% / 30.0% with the signals from sets 1-26, as with those from sets 1-25 (74.6% right on code
#   or not); 57.7% once three open-file limits raised with ulimit took the corpus's label, configuration
#   (their collectors' brief had listed an operating system's limits under infrastructure); 62.0% / 22.0% /
#   26.7% (76.1%) with its own: the file ``cannot import name`` names for the module, when it is neither
#   installed nor the runtime's (a Home Assistant integration's own module: the code; all 21 in the corpus
#   that name one name site-packages), MongoDB's roles refusing an action, and SQLAlchemy finding no
#   dialect for a database URL's scheme (``postgres://``). What stays wrong is mostly what the event cannot
#   tell: stale settings or containers surfacing as a nil or a missing method, tools whose pinned
#   golang.org/x/tools panics inside go/types under a newer Go, a plugin fixed for a new MkDocs, an
#   outside cause the thread fixed in the code.
#   set 28 (57, 41 with a stack, 28 code; partial, the session's search budget ran out): 73.7% / 17.2% /
#   21.4% with the signals from sets 1-27, as with those from sets 1-25 (80.7% right on code or not); 80.7% /
#   10.3% / 21.4% (84.2%) with its own: a template pattern that matches no files (Go's ParseGlob, a relative
#   pattern: the working directory; it also settled a corpus case once Go installed on Windows, C:\Go\src,
#   read as the runtime instead of a library), JavaScript writing `undefined` into an address
#   ("https://undefined..."), Node's `bindings` finding no build of a native addon, and a parser of the
#   application's own read in the function that called it (Figaro's `parse` under `raw_configuration`).
#   set 29 (60, 48 with a stack, 27 code; one more dropped, a message its collector completed): 63.3% /
#   30.3% / 29.6% with the signals from sets 1-28 (70.0% right on code or not); 68.3% / 27.3% / 29.6%
#   (71.7%) with its own: GitHub refusing what an app's installation was not granted ("Resource not
#   accessible by integration"), Ruby's Net::HTTP naming a 503 by its class (Net::HTTPServiceUnavailable),
#   and a native addon's compiled module (build/Release/) not there. A file of settings "not found" was
#   tried and left out (one gained, one lost). What stays wrong: settings files that parse but say the
#   wrong thing (a nil, a KeyError, a string where a mapping was meant, all in the application's frames),
#   a reset connection nobody listened for (fixed in the code), a MongoDB address the container could not
#   reach (a setting).
#   set 30 (64, 52 with a stack, 31 code; collected the same day by other collectors, told to search where
#   the others had not): 62.5% / 24.2% / 32.3% with the signals from sets 1-29 (71.9% right on code or not);
#   68.8% / 21.2% / 29.0% (75.0%) with its own: `module 'aiohttp' has no attribute ...` with neither a
#   stack nor the event's modules, read as `cannot import name` is (3 of 3 such cases in the corpus were
#   the package's; with modules sent, one they do not list is still the application's), a Telegram bot's
#   token polled by a second instance ("terminated by other getUpdates request": it also settled a corpus
#   case), MongoDB's Ruby drivers failing to reach a primary node, and a Ruby file required by its path
#   under the application's own lib/ (`rubygems/util/stringio` from RubyGems' own setup.rb: its code).
#   A KeyError on the application's line subscripting its configuration was tried again and left out (3
#   for, 3 against, set 25's two included).
#   set 31 (58, 48 with a stack, 27 code; two more dropped, errors of `go get` and a compiler rather than of
#   the programs): 81.0% / 16.1% / 22.2% with the signals from sets 1-30 (81.0% right on code or not);
#   82.8% / 9.7% / 25.9% (82.8%) with its own: a ValueError raised inside configparser (Python 2's
#   ConfigParser too) converting a value of the settings file (`getint` on '88 # Port to bind to', on ''):
#   two of its cases, against a third whose thread made the application catch it (labelled code); every
#   other error configparser raised in the corpus is configuration.
#   Then a YAML parser's syntax error that names no file (Psych's "(<unknown>)", PyYAML's "<unicode
#   string>", Go's "yaml: line 3:") is a file of settings wherever it was read: all 10 YAML syntax errors in
#   the corpus are configuration, 6 of them naming no file (2 gained, none lost; one naming a file is still
#   read by the file's name, as a translation would be).
#   set 32 (9, 8 with a stack, 3 code; partial, the session's search budget ran out): 100% with the
#   signals from sets 1-31: ports already taken, a refused Redis, Node without fetch, a CA bundle missing
#   from a container, and three nil or bounds errors in the applications' own frames.
#   set 33 (63, 21 with a stack, 28 code): 42.9% / 14.3% / 57.1% with the signals from sets 1-32 (66.7%
#   right on code or not), the lowest yet: two in three of its cases quote only the message, and 15 of
#   those are held as uncertain (a Go time layout that does not parse, a frozen string or two encodings in
#   Ruby with no class or stack printed, credentials no provider gave); 54.0% / 14.3% / 46.4% (71.4%) with
#   its own: Ruby's frozen strings and mixed encodings are programming errors with or without a class or a
#   stack (all 9 in the corpus are code), AWS' JavaScript and Ruby SDKs finding no credentials, a setting
#   the message says "must" be set, Bunny reaching none of its hosts (a gained outage, a lost runtime too
#   old for Bunny 2), and libyaml's own words saying a YAML error where the class is not printed. A
#   Python without a CA bundle (python.org's on macOS: the runtime's install, labelled dependency) still
#   reads as the host's trust store: the event does not say which.
#   set 34 (53, 39 with a stack, 30 code; its collectors asked for two in three with a stack, one more
#   dropped whose thread inferred its cause): 64.2% / 21.7% / 23.3% with the signals from sets 1-33 (77.4%
#   right on code or not); 71.7% / 17.4% / 23.3% (79.2%) with its own: AWS' SDKs with no region set or
#   answered 403 with no code, Rails' mailers with no host for their links, and Stripe's and OpenAI's
#   APIConnectionError. What stays wrong is as before: a constant a gem's new major version dropped
#   (`Recaptcha::ClientHelper`), which the stack cannot tell from the application's own without the event's
#   modules, libraries' own threads, and outside causes fixed in the code.
#   Then a Node package's frame marked in-app is the application's even alone on the stack, as a gem's is
#   for Ruby: Sentry's JavaScript SDK and ours never mark node_modules/ in-app by themselves, so the mark was
#   asked for (4 libraries' own threads gained, cleverbot-node and telegraf among them; one lost, a CLI
#   whose crash was the `next` it ran with), and MongoDB's Node driver saying the server closed a
#   connection is an outage's words (a cluster refusing an address it was not told to allow: no longer code).
#   set 35 (54, 36 with a stack, 27 code; two more dropped, a fix the collector linked to its thread by
#   date and a thread that points both ways): 61.1% / 37.0% / 18.5% with the signals from sets 1-34 (72.2%
#   right on code or not); set 33's Ruby encodings settled one of its errors. 68.5% / 29.6% / 18.5% (75.9%)
#   with its own: Ruby spawning a command that is not installed ("No such file or directory - git"),
#   Playwright's browser not downloaded, Octokit's "502 - Server Error", a program "unable to load" its
#   configuration. Most of what stays wrong is settings that parse but say the wrong thing (a value under
#   the wrong key, a string where a client was meant, a file of YAML indented one level off), which reach
#   the code as a KeyError or an AttributeError like any bug.
#   set 36 (48, 35 with a stack, 24 code; two more dropped, one whose fix its collector could not see and
#   one its thread left between two causes): 72.9% / 12.5% / 20.8% with the signals from sets 1-35 (83.3%
#   right on code or not); 77.1% / 8.3% / 20.8% (85.4%) with its own: Linux's inotify watches running out,
#   which it reports as "no space left on device" (a limit the host sets, not a full disk), and a message
#   telling the process to run as root.
#   set 37 (9, 4 with a stack, 5 code; partial, the session's search budget ran out; two more dropped, a
#   label inferred from a comment cut short and an unmerged fix): 55.6% / 0.0% / 40.0% with the signals
#   from sets 1-36 (77.8% right on code or not): a library's own thread, a pool its code exhausted, a
#   locked SQLite database and a broken PostgreSQL install, none of them a signal to add.
#   Then a program telling how it is to be started ("Please specify a file or dir name by -conf flag.") is
#   its configuration (one gained, none lost). Reading a stack of one installed package's frames, all marked
#   in-app, as the SDK's choice (8 libraries' own threads gained, one setting lost) was tried and left out:
#   sentry-python before 1.17 marked every frame in-app, and an SDK told to include a package still marks
#   the runtime's frames out, so only stacks cut short as threads print them would gain.
#   set 38 (38, 27 with a stack, 18 code; its collectors were pointed at kinds of application the corpus
#   held few of, desktop and command-line tools, plugins, bots, and found fewer threads that settle their
#   cause: about 80 look-ups each for 7 to 12 cases): 55.3% / 25.0% / 50.0% with the signals from sets 1-37
#   (63.2% right on code or not). Half its code errors were missed: three of them Python applications
#   installed as a package (PyQt viewers, an egg), their own files marked in-app and nothing else on the
#   stack, read as a library's; two gems run from vendor/bundle/, which Sentry's Ruby SDK marks in-app by
#   itself; a runtime too old for the code (optional chaining on Node 10) that the thread fixed in the code.
#   65.8% / 25.0% / 33.3% (71.1%) with its own: a stack of nothing but one installed Python package's
#   files, every one marked in-app, is the application's (the reading tried and left out after set 37):
#   sentry-python marks such files in-app only when told to (``in_app_include``), and an old SDK marking
#   every frame would have put the runtime's or another package's beside them (eight of the corpus's code
#   errors gained with its three, libraries' and plugins' own threads among them; none lost, though a
#   setting handed to Flask-Session in its own thread now reads as code instead of as a dependency); an MQTT
#   broker refusing CONNECT for its credentials ("Connection refused: Not authorized"); and a library
#   saying it "must" be passed a token (python-telegram-bot's InvalidToken, one of the corpus's).
#   Then AWS' Ruby SDK naming its missing credentials by class (MissingCredentialsError, "unable to sign
#   request without credentials set"): one gained, none lost.
#   set 39 (41, 30 with a stack, 20 code; its collectors asked to search with a library's or a service's
#   name rather than an error's generic words): 63.4% / 33.3% / 10.0% with the signals from sets 1-38 (78.0%
#   right on code or not). Its code errors were easy (self-hosted services' own nil and index errors); seven
#   of its 21 out-of-scope errors were classed as code, each a setting or a library's version surfacing in
#   the application's frame (a pool size missing from a settings file, a GPIO library that cannot add edge
#   detection, a keyword argument Gradio 4 dropped, a search proxy shut down). 68.3% / 28.6% / 10.0%
#   (80.5%) with its own: rb-inotify's words for the inotify watches running out, which put "no space left
#   on device" first, and an environment variable named as the shell names it that "must be set".
#   set 40 (45, 35 with a stack, 22 code; open-source products and their plugins: Glances, CTFd, MinIO,
#   Thanos, Parse Server, Sensu and Chef plugins, Sharetribe): 82.2% / 8.7% / 9.1% with the signals from sets
#   1-39 (91.1% right on code or not), the best first score yet. Its code errors were the application's own
#   nil and index errors on the application's frames, its out-of-scope ones mostly in words the rules know
#   (a Redis or memcached not running, a driver too old, a file-descriptor limit, a package not installed).
#   With its own, Dalli's "No server available" with no class printed (as Dalli::RingError already read),
#   84.4%.
#   set 41 (7, 5 with a stack, 3 code; partial, the session's search budget ran out): 71.4% / 25.0% / 33.3%
#   with the signals from sets 1-40 (71.4% right on code or not). Its two errors are the corpus's old
#   questions: a library's own thread whose files the application vendored (gliderlabs/ssh under vendor/,
#   labelled code, read as a dependency's), and a gem's nil fixed by upgrading it, called from the
#   application's handler (read as code). Then the first of those is read as Sentry's Go SDK marks frames:
#   it marks a package not in-app when its import path names vendor/ (a GOPATH build's vendored package),
#   so such a frame marked in-app is the application's by choice; a module build's vendored packages keep
#   their own path and are marked in-app by the SDK itself, as the module cache is (one gained, none lost:
#   every other vendored Go frame in the corpus is marked not in-app).
#   sets 42-45 (42, 29 with a stack, 20 code; four collectors at once, one a platform, each sent to kinds of
#   applications the corpus held few of: Airflow, Jupyter and NetBox plugins; MeshCentral, Immich and Matrix
#   bridges; Logstash, Fluentd, Redmine and Zammad plugins; Kubernetes operators): 71.4% / 18.2% / 15.0% with
#   the signals from sets 1-41 (83.3% right on code or not): Python 80.0%, Node 72.7%, Ruby 50.0%, Go 81.8%.
#   The operators' nil pointers on their own frames were all right; missed were two plugins' own threads run
#   inside their host (a Logstash filter not safe across threads and Zammad's scheduler reusing a database
#   connection after forking, both raised in the gems they called), a migration naming its database, and, as
#   code, a Go runtime refusing to lock memory under systemd's limit and a NetBox attribute gone in the
#   release that broke the plugin. 78.6% / 9.1% / 15.0% (88.1%) with its own: a host's clock out of step
#   with a service that checks a signed request's time (S3's RequestTimeTooSkewed, AWS' "Signature expired",
#   Google's "Token used too early"); Go 1.14's runtime dying when the memory-lock limit will not let it lock
#   its signal stacks ("mlock failed", a limit the host sets); Buffer's 64-bit BigInt methods, which Node has
#   only from 12 on. Three gained, none lost.
#   sets 46-48 (35, 21 with a stack, 14 code; three collectors: one sent after outside causes on every
#   platform, one after Node tools, home-automation servers and bots, one after Python's and Ruby's jobs,
#   agents and mail handlers): 54.3% / 14.3% / 28.6% with the signals from sets 1-45 (80.0% right on code or
#   not): 66.7%, 64.3% and 33.3%. The outside causes were mostly in words the rules know (Elasticsearch's
#   flood stage, a 502 from Telegram, Redis' MISCONF); missed were a PostgreSQL still recovering ("not yet
#   accepting connections") read as its driver's failure, an IMAP server's BYE, semantic-release's
#   permission error by its code alone, an ODBC driver manager finding no driver, Node 8's EventEmitter
#   without off(), and as outside causes three errors their threads fixed in the code (a port taken, a
#   dropped database connection, a status command timing out on a server that was down). 71.4% / 9.5% /
#   28.6% (82.9%) with its own: those five, and a command the deploy target's shell cannot find through
#   SSHKit (exit status 127 from Capistrano or Kamal: the host or its PATH not set up; one gained from the
#   corpus besides). Seven gained, none lost.
#   sets 49-51 (33, 21 with a stack, 12 code; three collectors: Go daemons, exporters and bots; Python and
#   Ruby web services; and one sent after settings and deployment on every platform, whose errors were
#   mostly configuration): 48.5% / 23.8% / 41.7% with the signals from sets 1-48 (69.7% right on code or
#   not): 60.0%, 33.3% and 50.0%. A settings file that does not parse or lacks a key surfaced as the
#   application's own TypeError or a JSON parser's error on the application's frame (three read as code);
#   a docker run mounting a directory where a file was meant; Redis named by a compose service the network
#   lacks in redis-py's words ("Error -2 connecting to redis:6379"), read as a resolver's failure; and code
#   errors fixed by making a setting optional or its place right, read as the setting. 69.7% / 14.3% /
#   41.7% (75.8%) with its own: a program saying it could not read or load its config file ("Error reading
#   config file!", "not able to load config file"); Discord's gateway refusing intents the bot was not
#   granted (close 4014, "Disallowed intent(s)"); Ruby's Net timeouts named inside another library's
#   message; a path read as a file that is a directory (EISDIR, IsADirectoryError: a container's mount of a
#   file that was not there); Rails' front-end assets never built for the deployment (Webpacker's "can't
#   find ... in manifest.json", "not present in the asset pipeline"); and a compose service's name that
#   does not resolve in redis-py's, urllib3's and aiohttp's words. Eight gained (one of the corpus's), none
#   lost.
#   sets 52-53 (22, 14 with a stack, 13 code; two collectors: Node and Python applications on hosted
#   platforms and serverless runtimes, Ruby and Go job workers and integrations): 54.5% / 33.3% / 38.5% with
#   the signals from sets 1-51 (63.6% right on code or not): 57.1% and 50.0%. The platforms' own bugs in
#   the application's frames were right (API Gateway's test event with no headers, a header's case); missed
#   were a deployment package that would not load on Lambda, a Redis server too old for a job queue's Lua
#   script, an integration set up without Lambda's proxy events (a KeyError on the application's line), a
#   Lambda timing out without its VPC permissions, and libraries' own threads (go-imap, delayed_job).
#   63.6% / 22.2% / 38.5% (68.2%) with its own: AWS Lambda's runtime naming a module of the deployment
#   package it could not import ("Unable to import module 'handler'": a package left out or built for
#   another platform), and a Redis server older than the commands sent to it ("ERR unknown command",
#   "Wrong number of args calling Redis command From Lua script"). Two gained, none lost.
#   set 54 (7, 5 with a stack, 3 code; partial, the session's search budget ran out; OctoPrint, Klipper,
#   Moonraker, Umami, Ghostfolio, LNbits): 57.1% / 0.0% / 66.7% with the signals from sets 1-53 (71.4%
#   right on code or not). Its out-of-scope errors were in words the rules know; missed were two plugins'
#   and packages' own threads (an OctoPrint plugin's callback called with the arguments OctoPrint 1.6
#   passes, a Meteor package), read as the host's or a library's, and a market data provider's 404.
#   sets 55-62 (70, 51 with a stack, 34 code; eight collectors: Node servers on NestJS, Fastify, Koa and
#   Ghost; Python services on aiohttp, Tornado and their workers; Ruby workers, Sinatra and Roda apps and
#   Redmine plugins; Go operators and controllers; code bugs that name an outside thing and outside causes
#   that surface as a plain TypeError or nil; self-hosted home and media applications; unattended bots and
#   sync tools; callers of cloud platforms' services): 60.0% / 36.1% / 20.6% with the signals from sets
#   1-54 (71.4% right on code or not). Missed were mostly settings surfacing on the application's own line
#   (a CI variable not forwarded into a container, RAILS_ENV set on a line of its own, a weather service not
#   enabled, a proxy binary not on PATH, a container's shared memory too small), runtimes too old for the
#   application (Python 2.6's format fields, Node's diagnostics.tracingChannel) and packages' own threads
#   (Fastify and Starlette importing what they did not declare). 67.1% / 25.0% / 20.6% (77.1%) with its
#   own: Cloudflare Workers' "No such module "node:stream"" (the nodejs_compat flag not set), a library
#   that names the package it needs ("requires "python-multipart" to be installed"), Koa 2 refusing Koa 1's
#   generator middleware, Node's diagnostics.tracingChannel (18.19) and Python 2.6's "zero length field
#   name in format" among what a newer runtime provides, and a program Python's subprocess could not start
#   (not installed, or not on the PATH). Five gained, none lost.
#   sets 63-68 (52, 35 with a stack, 27 code; six collectors: self-hosted Django applications; Node servers
#   on Express, Socket.IO and Meteor; Go programs (Gitea, Gogs, Woodpecker, rclone, Vault's and Grafana's
#   plugins); Ruby programs (Fluentd's and Logstash's plugins, Vagrant's, Jekyll); applications and their
#   databases and queues; Python data pipelines and model serving): 67.3% / 28.0% / 14.8% with the signals
#   from sets 1-62 (78.8% right on code or not). Missed were settings in no words of their own (an e-mail
#   setup breaking a scheduler's page, a secret too short for a migration's cipher, a flow file outside the
#   project's root), a broken installation and a library's major version read as the application's (Meteor
#   1.2 reinstalled, Gradio 4's Audio), a Go runtime's own fault, and servers too old or gone (PostgreSQL
#   9.2 under NetBox's check, Kafka stopped). 75.0% / 24.0% / 11.1% (82.7%) with its own: an application's
#   check of its database server's version ("PostgreSQL 9.4.0 or higher is required"), Kafka's clients
#   finding no broker and MongoDB's driver naming the server it could not reach ("failed to connect to
#   [localhost:27017]"), and Go's database/sql scanning a NULL into a string (the code's choice of type).
#   Four gained, none lost.
#   sets 69-70 (18, 12 with a stack, 8 code; two collectors: settings and deployments of Go and Ruby
#   programs; Node and Python applications after an upgrade): 72.2% / 10.0% / 37.5% with the signals from
#   sets 1-68 (77.8% right on code or not). The settings were mostly in words the rules know (a port below
#   1024 without the capability, a variable not exported); missed were a flag spelt the way another
#   program spells it, a CLI given a site without its scheme, and code errors in the words of an outside
#   cause: a plugin's own typo inside a gem's frames, SQLAlchemy 2's missing __all__ read by a wrapper, a
#   logger's chown in a pod that was not allowed to and now is caught. 77.8% / 10.0% / 37.5% (77.8%) with
#   its own: a program refusing a flag it was started with (Go's "flag provided but not defined", Cobra's
#   "unknown flag", argparse's "unrecognized arguments", Commander's "unknown option"). One gained, none lost.
#   sets 71-78 (95, 66 with a stack, 44 code; eight collectors: Python web services run in containers
#   (NetBox, Wagtail); Python workers and command-line tools (beets, borg, Scrapy, Celery beat, bots);
#   Node servers and self-hosted Node applications; Next.js, Nuxt and serverless functions and JavaScript
#   bots; Rails applications and Redmine plugins; Ruby outside Rails (Jekyll, CocoaPods, Homebrew taps,
#   Vagrant plugins, Fluentd); Go servers (Caddy and its modules, matterircd, exporters); Go infrastructure
#   (Helm, Terraform providers, operators)): 58.9% / 33.3% / 25.0% with the signals from sets 1-70 (70.5%
#   right on code or not). Classed as code were mostly dependencies in the application's own frames: Redmine
#   plugins of the wrong version for their Redmine (alias_method_chain, a missing patch module), an old
#   Homebrew, Helmsman before Helm 3, Express 1 under Connect 1.0; and outside causes that surfaced as a
#   nil (an overloaded model, an API incident in a Terraform provider). Missed were a Caddy module's and a
#   vendored library's own bugs read as a library's, a "No module named" fixed in the project's upgrade
#   script or its Python 2 import, and a request body over the project's own limit. 69.5% / 29.4% / 22.7%
#   (73.7%) with its own: a Kubernetes client with no cluster configured (Helm's and kubectl's fall-back to
#   localhost:8080), a container runtime whose seccomp profile refuses a thread ("pthread_create failed:
#   Operation not permitted"), Redis refusing a command as redis-py words it ("unknown command HELLO, with
#   args beginning with"), libcurl's "Timeout was reached", a service that "failed to respond", Bundler's
#   gem server out of reach, an API's "error 503", V8's "Cannot read property 'x' of undefined" before
#   Node 16 without a stack, and a file no application file asked for that a platform's runner or a start
#   command names (Lambda's /var/task, a container's /app/server.js). Eleven gained; one lost, a Replit runner
#   asking for an entry file the repository had dropped, the same event as a corpus case settled by
#   setting the runner's file.
#   sets 79-84 (71, 51 with a stack, 36 code; six collectors: Home Assistant's and OctoPrint's plugins;
#   Node-RED nodes, ioBroker adapters and Homebridge plugins; Python applications around models and data;
#   Rails applications after upgrades and their jobs; Go command-line tools (Hugo, restic, syncthing,
#   lazygit, rclone); applications failing in their database, cache and queue clients): 63.4% / 20.0% /
#   25.0% with the signals from sets 1-78 (77.5% right on code or not). Missed were mostly packages' and
#   plugins' own threads read as a library's (a gem's missing module definition, replica_pools on Active
#   Record 6), an undefined variable named like a newer runtime's global (`response is not defined`), a
#   Psych refusal fixed in the code, an unhandled rate limit and a driver's buffering timeout; classed as
#   code were settings surfacing in the application's frame (an apps.yaml without a key, a Git config
#   another tool left) and dependencies in the application's own import (pydantic 2 under an old
#   ElevenLabs SDK, Resque 3 on Rails 7.1). 70.4% / 17.1% / 19.4% (81.7%) with its own: a newer runtime's
#   globals matched as the runtime spells them (Response, not a variable `response`), postgres.js's
#   CONNECT_TIMEOUT, a program's version or edition that lacks a feature ("not available in your current
#   Hugo version"), pydantic 2 refusing what was written for pydantic 1, and SQLAlchemy's session used
#   again after a failed flush without a rollback (the code's). Five gained, none lost.
#   sets 85-87 (34, 24 with a stack, 16 code; three collectors: Django and Flask applications after
#   deployment; Node back ends on ORMs and job queues (Bull, BullMQ, Agenda, Prisma, n8n); Go web services
#   and bots): 64.7% / 16.7% / 31.2% with the signals from sets 1-84 (76.5% right on code or not). Missed
#   were libraries' own threads in Go read as a library's (a Slack client, a command matcher, a vendored
#   package of the project's), a Werkzeug import the project fixed, and Flask's session without a secret
#   key that the project, not its deployment, had to set; classed as code were a job queue's version
#   check against the wrong Redis, a minor release's breaking API, and an Alpine image without tzdata.
#   With its own (BullMQ's "Redis version needs to be greater than" among servers too old) that check
#   reads as a dependency: out of scope, though its thread found the wrong server configured.
#   set 88 (9, 6 with a stack, 4 code; one collector: outside failures in any language, and code errors
#   first blamed on one): 77.8% / 20.0% / 25.0% with the signals from sets 1-87 (77.8% right on code or
#   not). Its expired certificates and skewed clocks were in words the rules know; missed were a broker's
#   500 read as the application's call, and a worker that did not reconnect after its database restarted
#   ("cursor already closed", no stack). It added none.
#   Taken together, the 2,641 cases of sets 1-88, each scored with the rules as they stood before its set
#   (from the repository's history: bench/triage_heldout.py), came out 65.6% right, 23.2% / 24.6% (76.2%
#   right on code or not).
#   A logistic regression over the same events' words, exception types and frames' places, trained on the
#   cases collected before each set, scored 66.2% on sets 1-28's 1,604 (the rules then: 67.0%), and 68.9%
#   with the rules' verdict as one more input: from what an event says, neither the rules nor a model fitted
#   to these cases gets much past two in three errors it has not seen.
# Then a library failing on a missing value with no application frame, held as uncertain until then, became
# a (weak) dependency verdict: 16 of its 26 cases are, all 5 held-out ones since it was last counted.
# Then words of common outside failures taken from how services and clients word them rather than from
# cases (TLS spoken to a plain port, Redis Cluster's MOVED, a client certificate refused, a mail server's
# relay refusal, a cloud API not enabled, a missing bucket, an access list, Rails' master key, connections
# dropped by TLS and HTTP/2, gRPC's UNAVAILABLE, Prisma's unreachable server, a read-only replica, an API
# account out of quota, native builds for another host or GPU, deadlocks as the code's, a deployment's
# asset build that did not run, a stale pid file, a certificate with no SANs, a database driver never
# imported, urllib3 2 on an old OpenSSL, NumPy's C API, Net::SMTP after Ruby 3.1, a row against the
# schema's constraints as the code's, SSH's, LDAP's and Kubernetes' refusals, an unknown SSH host key). On
# the corpus they gained three (glibc's words without their quotes, a RabbitMQ client's connection error, a
# registry's certificate without SANs) and lost none; the next held-out set measures them.
# So the corpus figures above run well ahead of what triage does on an error it has not seen; a new held-out
# set measures the next change best. The floor and ceilings below moved back when the held-out sets joined
# the corpus: the cases got harder. On the first 216 the rules stand where they stood (two cases gained, a
# descriptor limit and an installer's launcher; two lost, the flask.json clash above and a vendored
# library's map race now read as the library's).
FLOOR_ACCURACY = 0.755
CEILING_OUT_OF_SCOPE_AS_CODE = 0.150
CEILING_CODE_MISSED = 0.199


def has_stack(event: dict) -> bool:
    return any((value.get("stacktrace") or {}).get("frames") for value in event["exception"]["values"])


def share(cases: list[dict], wrong) -> float:
    return sum(wrong(classify(case["event"]).category) for case in cases) / len(cases)


def test_triage_on_real_errors_holds_where_it_stands():
    cases = load_cases()
    accuracy, text = report(cases)
    out_of_scope = [case for _, case in cases if case["category"] != "code"]
    code = [case for _, case in cases if case["category"] == "code"]
    as_code = share(out_of_scope, lambda verdict: verdict == "code")
    missed = share(code, lambda verdict: verdict != "code")
    held = share(code, lambda verdict: verdict == "uncertain")
    text += (
        f"\nout of scope classed as code {as_code:.1%}, code errors missed {missed:.1%} "
        f"(of which held as uncertain {held:.1%})"
    )
    # SDK events nearly always carry a stack; many threads quote only the message.
    stacked = [(name, case) for name, case in cases if has_stack(case["event"])]
    text += f"\nof which with a stack trace: {report(stacked)[1]}"
    print(text)

    assert accuracy >= FLOOR_ACCURACY, text
    assert as_code <= CEILING_OUT_OF_SCOPE_AS_CODE, text
    assert missed <= CEILING_CODE_MISSED, text
