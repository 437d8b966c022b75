"""Stack traces sent as one string (the bugstack.ai SDKs' ``error.stackTrace``) read into frames.

The samples are what the runtimes printed on this project's development machine: CPython 3.11, Node.js 20,
Ruby 3.1 and Go 1.19, each running a small program under /tmp/st. Ruby 3.4's quoting and Go 1.21's
``created by … in goroutine N`` come after the versions installed here: those two samples are written from
the formats their release notes document.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.schema import Frame
from ingest.stacktrace_text import MAX_FRAMES, MAX_LINE, MAX_TEXT, ParsedTrace, parse_stack_trace


def at(
    path: str | None = None,
    function: str | None = None,
    lineno: int | None = None,
    colno: int | None = None,
    module: str | None = None,
    context_line: str | None = None,
) -> dict[str, Any]:
    """The frame expected: ``abs_path`` repeats ``path`` when it is absolute."""
    expected = {
        "filename": path,
        "abs_path": path if path and path.startswith("/") else None,
        "module": module,
        "function": function,
        "lineno": lineno,
        "colno": colno,
        "context_line": context_line,
    }
    return {name: value for name, value in expected.items() if value is not None}


def parsed(text: str, hint: str | None = None) -> ParsedTrace:
    trace = parse_stack_trace(text, hint)
    assert trace is not None
    for frame in trace.frames:
        Frame.model_validate(frame)  # the native protocol's frame shape, strict types and all
    return trace


# --- Python ---------------------------------------------------------------------------------------------

VIEWS = "/tmp/st/srv/app/views.py"

PYTHON_CARETS = """\
Traceback (most recent call last):
  File "/tmp/st/srv/app/views.py", line 32, in <module>
    OrderView().get(None)
  File "/tmp/st/srv/app/views.py", line 11, in get
    return ratio(totals["sum"], totals["n"])
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/tmp/st/srv/app/views.py", line 5, in ratio
    return total / count
           ~~~~~~^~~~~~~
ZeroDivisionError: division by zero
"""

PYTHON_DIRECT_CAUSE = """\
Traceback (most recent call last):
  File "/tmp/st/srv/app/views.py", line 16, in load
    return json.loads(raw)
           ^^^^^^^^^^^^^^^
  File "/root/.pyenv/versions/3.11.7/lib/python3.11/json/__init__.py", line 346, in loads
    return _default_decoder.decode(s)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/root/.pyenv/versions/3.11.7/lib/python3.11/json/decoder.py", line 337, in decode
    obj, end = self.raw_decode(s, idx=_w(s, 0).end())
               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/root/.pyenv/versions/3.11.7/lib/python3.11/json/decoder.py", line 353, in raw_decode
    obj, end = self.scan_once(s, idx)
               ^^^^^^^^^^^^^^^^^^^^^^
json.decoder.JSONDecodeError: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/tmp/st/srv/app/views.py", line 34, in <module>
    load("{nope")
  File "/tmp/st/srv/app/views.py", line 18, in load
    raise RuntimeError("bad payload") from exc
RuntimeError: bad payload
"""

PYTHON_DURING_HANDLING = """\
Traceback (most recent call last):
  File "/tmp/st/srv/app/views.py", line 23, in lookup
    return d["missing"]
           ~^^^^^^^^^^^
KeyError: 'missing'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/tmp/st/srv/app/views.py", line 36, in <module>
    lookup({"x": None})
  File "/tmp/st/srv/app/views.py", line 25, in lookup
    return d["x"] + 1
           ~~~~~~~^~~
TypeError: unsupported operand type(s) for +: 'NoneType' and 'int'
"""

PYTHON_NO_SOURCE_MULTILINE_MESSAGE = """\
Traceback (most recent call last):
  File "<string>", line 4, in <module>
  File "<string>", line 3, in check
ValueError: bad order 7
line two of the message
"""

PYTHON_RECURSION = """\
Traceback (most recent call last):
  File "<string>", line 4, in <module>
  File "<string>", line 3, in down
  File "<string>", line 3, in down
  File "<string>", line 3, in down
  [Previous line repeated 996 more times]
RecursionError: maximum recursion depth exceeded
"""


def test_python_traceback_with_carets() -> None:
    trace = parsed(PYTHON_CARETS)

    assert (trace.platform, trace.exception_type, trace.message) == (
        "python",
        "ZeroDivisionError",
        "division by zero",
    )
    assert trace.frames == [
        at(VIEWS, "<module>", 32, context_line="OrderView().get(None)"),
        at(VIEWS, "get", 11, context_line='return ratio(totals["sum"], totals["n"])'),
        at(VIEWS, "ratio", 5, context_line="return total / count"),
    ]


def test_python_direct_cause_keeps_the_last_exception() -> None:
    trace = parsed(PYTHON_DIRECT_CAUSE)

    assert (trace.exception_type, trace.message) == ("RuntimeError", "bad payload")
    assert trace.frames == [
        at(VIEWS, "<module>", 34, context_line='load("{nope")'),
        at(VIEWS, "load", 18, context_line='raise RuntimeError("bad payload") from exc'),
    ]


def test_python_exception_during_handling_keeps_the_last_exception() -> None:
    trace = parsed(PYTHON_DURING_HANDLING)

    assert (trace.exception_type, trace.message) == (
        "TypeError",
        "unsupported operand type(s) for +: 'NoneType' and 'int'",
    )
    assert trace.frames == [
        at(VIEWS, "<module>", 36, context_line='lookup({"x": None})'),
        at(VIEWS, "lookup", 25, context_line='return d["x"] + 1'),
    ]


def test_python_frames_without_source_and_a_message_of_two_lines() -> None:
    trace = parsed(PYTHON_NO_SOURCE_MULTILINE_MESSAGE)

    assert (trace.exception_type, trace.message) == ("ValueError", "bad order 7\nline two of the message")
    assert trace.frames == [at("<string>", "<module>", 4), at("<string>", "check", 3)]


def test_python_recursion_notice_is_no_frame() -> None:
    trace = parsed(PYTHON_RECURSION)

    assert (trace.exception_type, trace.message) == ("RecursionError", "maximum recursion depth exceeded")
    assert trace.frames == [at("<string>", "<module>", 4)] + [at("<string>", "down", 3)] * 3


def test_python_dotted_type_and_a_message_with_colons() -> None:
    first_traceback = PYTHON_DIRECT_CAUSE.split("\n\nThe above exception")[0]

    trace = parsed(first_traceback)

    assert trace.exception_type == "json.decoder.JSONDecodeError"
    assert trace.message == "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    assert [frame["function"] for frame in trace.frames] == ["load", "loads", "decode", "raw_decode"]


# --- V8 (Node.js) ---------------------------------------------------------------------------------------

SERVER = "/tmp/st/app/server.js"

NODE_ASYNC = """\
TypeError: Cannot read properties of undefined (reading 'id')
    at Repo.find (/tmp/st/app/server.js:3:35)
    at handler (/tmp/st/app/server.js:7:15)
    at /tmp/st/app/server.js:11:24
    at Array.map (<anonymous>)
    at route (/tmp/st/app/server.js:11:14)
    at async Promise.all (index 0)
    at async main (/tmp/st/app/server.js:15:5)"""

NODE_ESM_CONSTRUCTOR = """\
RangeError: widget needs a name
see docs
    at new Widget (file:///tmp/st/app/widget.mjs:3:27)
    at build (file:///tmp/st/app/widget.mjs:6:38)
    at file:///tmp/st/app/widget.mjs:7:7
    at ModuleJob.run (node:internal/modules/esm/module_job:325:25)
    at async ModuleLoader.import (node:internal/modules/esm/loader:606:24)
    at async asyncRunEntryPointWithESMLoader (node:internal/modules/run_main:117:5)"""

NODE_ERROR_CODE = """\
TypeError [ERR_INVALID_ARG_TYPE]: The "path" argument must be of type string or an instance of Buffer \
or URL. Received an instance of Object
    at Object.openSync (node:fs:571:10)
    at Object.readFileSync (node:fs:452:35)
    at Object.loadConfig (/tmp/st/app/boot.js:1:69)
    at Object.<anonymous> (/tmp/st/app/boot.js:3:14)
    at Module._compile (node:internal/modules/cjs/loader:1521:14)
    at Module._extensions..js (node:internal/modules/cjs/loader:1623:10)
    at Module.load (node:internal/modules/cjs/loader:1266:32)
    at Module._load (node:internal/modules/cjs/loader:1091:12)
    at Function.executeUserEntryPoint [as runMain] (node:internal/modules/run_main:164:12)
    at node:internal/main/run_main_module:28:49"""

NODE_SYSTEM_ERROR = """\
Error: ENOENT: no such file or directory, open '/nope/config.json'
    at Object.openSync (node:fs:573:18)
    at Object.readFileSync (node:fs:452:35)
    at main (/tmp/st/app/server.js:19:23)"""

NODE_EVAL = """\
TypeError: Cannot read properties of null (reading 'x')
    at bad (eval at main (/tmp/st/app/server.js:21:9), <anonymous>:1:24)
    at eval (eval at main (/tmp/st/app/server.js:21:9), <anonymous>:1:28)
    at main (/tmp/st/app/server.js:21:9)"""


def test_node_async_stack_is_reversed_to_oldest_first() -> None:
    trace = parsed(NODE_ASYNC)

    assert (trace.platform, trace.exception_type, trace.message) == (
        "node",
        "TypeError",
        "Cannot read properties of undefined (reading 'id')",
    )
    assert trace.frames == [
        at(SERVER, "main", 15, 5),
        at(function="Promise.all"),
        at(SERVER, "route", 11, 14),
        at("<anonymous>", "Array.map"),
        at(SERVER, None, 11, 24),
        at(SERVER, "handler", 7, 15),
        at(SERVER, "Repo.find", 3, 35),
    ]


def test_node_esm_urls_become_paths_and_constructors_keep_new() -> None:
    trace = parsed(NODE_ESM_CONSTRUCTOR)

    assert (trace.exception_type, trace.message) == ("RangeError", "widget needs a name\nsee docs")
    assert trace.frames == [
        at("node:internal/modules/run_main", "asyncRunEntryPointWithESMLoader", 117, 5),
        at("node:internal/modules/esm/loader", "ModuleLoader.import", 606, 24),
        at("node:internal/modules/esm/module_job", "ModuleJob.run", 325, 25),
        at("/tmp/st/app/widget.mjs", None, 7, 7),
        at("/tmp/st/app/widget.mjs", "build", 6, 38),
        at("/tmp/st/app/widget.mjs", "new Widget", 3, 27),
    ]


def test_node_error_code_stays_with_the_type_and_internal_frames_are_kept() -> None:
    trace = parsed(NODE_ERROR_CODE)

    assert trace.exception_type == "TypeError [ERR_INVALID_ARG_TYPE]"
    assert trace.message == (
        'The "path" argument must be of type string or an instance of Buffer or URL. '
        "Received an instance of Object"
    )
    assert trace.frames == [
        at("node:internal/main/run_main_module", None, 28, 49),
        at("node:internal/modules/run_main", "Function.executeUserEntryPoint [as runMain]", 164, 12),
        at("node:internal/modules/cjs/loader", "Module._load", 1091, 12),
        at("node:internal/modules/cjs/loader", "Module.load", 1266, 32),
        at("node:internal/modules/cjs/loader", "Module._extensions..js", 1623, 10),
        at("node:internal/modules/cjs/loader", "Module._compile", 1521, 14),
        at("/tmp/st/app/boot.js", "Object.<anonymous>", 3, 14),
        at("/tmp/st/app/boot.js", "Object.loadConfig", 1, 69),
        at("node:fs", "Object.readFileSync", 452, 35),
        at("node:fs", "Object.openSync", 571, 10),
    ]


def test_node_system_error_splits_at_the_first_colon() -> None:
    trace = parsed(NODE_SYSTEM_ERROR)

    assert (trace.exception_type, trace.message) == (
        "Error",
        "ENOENT: no such file or directory, open '/nope/config.json'",
    )
    assert trace.frames[-1] == at("node:fs", "Object.openSync", 573, 18)


def test_node_eval_frames_are_placed_in_the_evaluated_code() -> None:
    trace = parsed(NODE_EVAL)

    assert trace.frames == [
        at(SERVER, "main", 21, 9),
        at("<anonymous>", "eval", 1, 28),
        at("<anonymous>", "bad", 1, 24),
    ]


def test_node_stack_ends_where_its_frames_end() -> None:
    # Several errors logged one after the other: the first one's stack is read, not merged with the next.
    trace = parsed(NODE_ASYNC + "\n" + NODE_SYSTEM_ERROR)

    assert trace.exception_type == "TypeError"
    assert len(trace.frames) == 7


def test_node_message_line_beginning_with_at_is_no_frame() -> None:
    trace = parsed("Error: invalid order\nat least one item is required\n    at main (/app/x.js:1:2)")

    assert trace.message == "invalid order\nat least one item is required"
    assert trace.frames == [at("/app/x.js", "main", 1, 2)]


# --- Ruby -----------------------------------------------------------------------------------------------

USER_RB = "/tmp/st/rb/app/models/user.rb"

RUBY_BACKTRACE = """\
/tmp/st/rb/app/models/user.rb:8:in `block in full_name'
/tmp/st/rb/app/models/user.rb:7:in `each'
/tmp/st/rb/app/models/user.rb:7:in `full_name'
main.rb:4:in `render'
main.rb:18:in `<main>'"""

RUBY_FULL_MESSAGE = """\
/tmp/st/rb/app/models/user.rb:8:in `block in full_name': undefined method `first_name' for nil:NilClass \
(NoMethodError)

      return @profile.first_name + " " + @profile.last_name
                     ^^^^^^^^^^^
\tfrom /tmp/st/rb/app/models/user.rb:7:in `each'
\tfrom /tmp/st/rb/app/models/user.rb:7:in `full_name'
\tfrom main.rb:4:in `render'
\tfrom main.rb:18:in `<main>'
"""

RUBY_WITH_CAUSE = """\
main.rb:14:in `rescue in boot': boot failed (RuntimeError)
\tfrom main.rb:11:in `boot'
\tfrom main.rb:26:in `<main>'
main.rb:8:in `load_config': missing key (ArgumentError)
second line
\tfrom main.rb:12:in `boot'
\tfrom main.rb:26:in `<main>'
"""

# Ruby 3.4's format (its NEWS: "Use a single quote instead of a backtick as an opening quote" and "Display
# a class name before a method name"), written from the documented output rather than run here.
RUBY_34_FULL_MESSAGE = """\
/app/app/models/user.rb:42:in 'User#full_name': undefined method 'first_name' for nil (NoMethodError)
\tfrom /app/app/controllers/users_controller.rb:7:in 'UsersController#show'
\tfrom /app/config.ru:3:in 'block in <main>'
"""

RUBY_FRAMES = [
    at("main.rb", "<main>", 18),
    at("main.rb", "render", 4),
    at(USER_RB, "full_name", 7),
    at(USER_RB, "each", 7),
    at(USER_RB, "block in full_name", 8),
]


def test_ruby_backtrace_without_message() -> None:
    trace = parsed(RUBY_BACKTRACE)

    assert (trace.platform, trace.exception_type, trace.message) == ("ruby", None, None)
    assert trace.frames == RUBY_FRAMES


def test_ruby_full_message_gives_class_and_message_with_its_further_lines() -> None:
    trace = parsed(RUBY_FULL_MESSAGE)

    assert trace.exception_type == "NoMethodError"
    assert trace.message == (
        "undefined method `first_name' for nil:NilClass\n"
        "\n"
        '      return @profile.first_name + " " + @profile.last_name\n'
        "                     ^^^^^^^^^^^"
    )
    assert trace.frames == RUBY_FRAMES


def test_ruby_cause_is_not_read() -> None:
    trace = parsed(RUBY_WITH_CAUSE)

    assert (trace.exception_type, trace.message) == ("RuntimeError", "boot failed")
    assert trace.frames == [
        at("main.rb", "<main>", 26),
        at("main.rb", "boot", 11),
        at("main.rb", "rescue in boot", 14),
    ]


def test_ruby_34_quotes_and_class_names() -> None:
    trace = parsed(RUBY_34_FULL_MESSAGE)

    assert (trace.exception_type, trace.message) == ("NoMethodError", "undefined method 'first_name' for nil")
    assert trace.frames == [
        at("/app/config.ru", "block in <main>", 3),
        at("/app/app/controllers/users_controller.rb", "UsersController#show", 7),
        at("/app/app/models/user.rb", "User#full_name", 42),
    ]


# --- Go -------------------------------------------------------------------------------------------------

MAIN_GO = "/tmp/st/go/app/main.go"

GO_PANIC = """\
panic: runtime error: index out of range [5] with length 3

goroutine 1 [running]:
main.(*Server).handle(...)
\t/tmp/st/go/app/main.go:12
main.handler(0x405418?)
\t/tmp/st/go/app/main.go:16 +0x7a
main.main()
\t/tmp/st/go/app/main.go:39 +0xb4
"""

GO_DEBUG_STACK_IN_RECOVER = """\
goroutine 1 [running]:
runtime/debug.Stack()
\t/usr/lib/go-1.19/src/runtime/debug/stack.go:24 +0x65
main.stack.func1()
\t/tmp/st/go/app/main.go:22 +0x2a
panic({0x494560, 0xc0000a4000})
\t/usr/lib/go-1.19/src/runtime/panic.go:884 +0x212
main.(*Server).handle(...)
\t/tmp/st/go/app/main.go:12
main.handler(0x11?)
\t/tmp/st/go/app/main.go:16 +0x7a
main.stack()
\t/tmp/st/go/app/main.go:25 +0x96
main.main()
\t/tmp/st/go/app/main.go:41 +0xd5
"""

GO_REPANIC = """\
panic: runtime error: index out of range [5] with length 3 [recovered]
\tpanic: handler crashed: runtime error: index out of range [5] with length 3

goroutine 1 [running]:
main.repanic.func1()
\t/tmp/st/go/app/main.go:31 +0x65
panic({0x494560, 0xc00001a090})
\t/usr/lib/go-1.19/src/runtime/panic.go:884 +0x212
main.(*Server).handle(...)
\t/tmp/st/go/app/main.go:12
main.handler(0x11?)
\t/tmp/st/go/app/main.go:16 +0x7a
main.repanic()
\t/tmp/st/go/app/main.go:33 +0x96
main.main()
\t/tmp/st/go/app/main.go:43 +0x10d
"""

GO_ALL_GOROUTINES = """\
panic: store: connection refused

goroutine 1 [running]:
example.com/shop/store.(*DB).Get(...)
\t/tmp/st/go/app2/store/store.go:8
main.main()
\t/tmp/st/go/app2/main.go:12 +0x56

goroutine 5 [runnable]:
main.main.func1()
\t/tmp/st/go/app2/main.go:10
created by main.main
\t/tmp/st/go/app2/main.go:10 +0x25
"""

# Go 1.21 added the creator's goroutine to "created by" (its release notes); written from that format.
GO_121_CREATED_BY = """\
panic: runtime error: index out of range [5] with length 0

goroutine 6 [running]:
main.(*Server).handle(...)
\t/app/main.go:12
main.handler(0x0?)
\t/app/main.go:16 +0x7a
main.main.func1()
\t/app/main.go:46 +0x45
created by main.main in goroutine 1
\t/app/main.go:46 +0x17b
"""

GO_RAISE_SITE = [
    at(MAIN_GO, "handler", 16, module="main"),
    at(MAIN_GO, "(*Server).handle", 12, module="main"),
]


def test_go_panic() -> None:
    trace = parsed(GO_PANIC)

    assert (trace.platform, trace.exception_type, trace.message) == (
        "go",
        "panic",
        "runtime error: index out of range [5] with length 3",
    )
    assert trace.frames == [at(MAIN_GO, "main", 39, module="main"), *GO_RAISE_SITE]


def test_go_debug_stack_ends_where_the_panic_began() -> None:
    trace = parsed(GO_DEBUG_STACK_IN_RECOVER)

    assert (trace.exception_type, trace.message) == (None, None)
    assert trace.frames == [
        at(MAIN_GO, "main", 41, module="main"),
        at(MAIN_GO, "stack", 25, module="main"),
        *GO_RAISE_SITE,
    ]


def test_go_debug_stack_without_panic_drops_only_the_capture() -> None:
    text = (
        "goroutine 1 [running]:\n"
        "runtime/debug.Stack()\n\t/usr/lib/go-1.19/src/runtime/debug/stack.go:24 +0x65\n"
        "main.logIt()\n\t/app/main.go:9 +0x1d\nmain.main()\n\t/app/main.go:13 +0x17\n"
    )

    trace = parsed(text)

    assert trace.frames == [
        at("/app/main.go", "main", 13, module="main"),
        at("/app/main.go", "logIt", 9, module="main"),
    ]


def test_go_repanic_takes_the_last_panic_message() -> None:
    trace = parsed(GO_REPANIC)

    assert (trace.exception_type, trace.message) == (
        "panic",
        "handler crashed: runtime error: index out of range [5] with length 3",
    )
    assert trace.frames == [
        at(MAIN_GO, "main", 43, module="main"),
        at(MAIN_GO, "repanic", 33, module="main"),
        *GO_RAISE_SITE,
    ]


def test_go_reads_the_first_goroutine_and_splits_package_paths() -> None:
    trace = parsed(GO_ALL_GOROUTINES)

    assert (trace.exception_type, trace.message) == ("panic", "store: connection refused")
    assert trace.frames == [
        at("/tmp/st/go/app2/main.go", "main", 12, module="main"),
        at("/tmp/st/go/app2/store/store.go", "(*DB).Get", 8, module="example.com/shop/store"),
    ]


def test_go_created_by_is_the_oldest_frame() -> None:
    trace = parsed(GO_121_CREATED_BY)

    assert trace.frames == [
        at("/app/main.go", "main", 46, module="main"),
        at("/app/main.go", "main.func1", 46, module="main"),
        at("/app/main.go", "handler", 16, module="main"),
        at("/app/main.go", "(*Server).handle", 12, module="main"),
    ]


def test_go_escaped_dot_in_a_package_path() -> None:
    text = "goroutine 1 [running]:\ngopkg.in/yaml%2ev3.(*decoder).unmarshal(0xc0001)\n\t/go/x.go:7 +0x1\n"

    assert parsed(text).frames == [
        at("/go/x.go", "(*decoder).unmarshal", 7, module="gopkg.in/yaml.v3"),
    ]


def test_go_fatal_error() -> None:
    text = (
        "fatal error: all goroutines are asleep - deadlock!\n\n"
        "goroutine 1 [chan receive]:\nmain.main()\n\t/app/main.go:5 +0x2d\n"
    )

    trace = parsed(text)

    assert (trace.exception_type, trace.message) == ("fatal error", "all goroutines are asleep - deadlock!")
    assert trace.frames == [at("/app/main.go", "main", 5, module="main")]


# --- choosing the format --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "platform"),
    [
        (PYTHON_CARETS, "python"),
        (NODE_ASYNC, "node"),
        (RUBY_FULL_MESSAGE, "ruby"),
        (RUBY_BACKTRACE, "ruby"),
        (GO_PANIC, "go"),
        (GO_DEBUG_STACK_IN_RECOVER, "go"),
    ],
)
def test_format_is_detected_without_a_hint(text: str, platform: str) -> None:
    assert parsed(text).platform == platform


def test_hint_wins_when_its_format_reads_the_text() -> None:
    # A Python traceback whose message quotes a V8 stack: read alone, the two V8 frames outnumber the one
    # Python frame; the SDK's platform says which it is.
    text = (
        'Traceback (most recent call last):\n  File "/srv/app/render.py", line 9, in render\n'
        "RuntimeError: node renderer failed:\n"
        "    at render (/srv/ssr/x.js:1:2)\n    at main (/srv/ssr/x.js:5:1)\n"
    )

    assert parsed(text).platform == "node"
    assert parsed(text, "python").frames == [at("/srv/app/render.py", "render", 9)]
    assert parsed(text, " Python ").platform == "python"


def test_hint_that_reads_nothing_falls_back_to_detection() -> None:
    assert parsed(RUBY_BACKTRACE, "python").platform == "ruby"
    assert parsed(NODE_ASYNC, "javascript").platform == "node"
    assert parsed(GO_PANIC, "no such platform").platform == "go"


def test_trace_among_log_lines() -> None:
    text = (
        "2024-05-01 12:00:00 INFO starting\n\x00\x1b[31mnoise\x1b[0m ::: : :in `\n"
        + PYTHON_CARETS
        + "2024-05-01 12:00:01 INFO still running\n"
    )

    trace = parsed(text)

    assert trace.platform == "python"
    assert [frame["lineno"] for frame in trace.frames] == [32, 11, 5]
    assert trace.exception_type == "ZeroDivisionError"
    assert trace.message == "division by zero\n2024-05-01 12:00:01 INFO still running"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n\n",
        "just a message",
        "Error: something failed",
        "Traceback (most recent call last):\nKeyError: 'x'",
        "    at nothing useful here",
        "goroutine 1 [running]:\n",
        "x.rb:1:in",
        "\ud800 lone surrogate",
    ],
)
def test_text_that_is_no_trace_gives_none(text: str) -> None:
    assert parse_stack_trace(text) is None


@pytest.mark.parametrize("value", [None, b"Traceback", 42, ["a"]])
def test_a_value_that_is_no_string_gives_none(value: Any) -> None:
    assert parse_stack_trace(value) is None
    assert parse_stack_trace(NODE_ASYNC, value).platform == "node"


# --- caps -----------------------------------------------------------------------------------------------


def python_frames(count: int) -> str:
    lines = [f'  File "/srv/app/deep.py", line {index}, in level{index}' for index in range(count)]
    return "Traceback (most recent call last):\n" + "\n".join(lines) + "\nRecursionError: too deep\n"


def v8_frames(count: int) -> str:
    return "Error: too deep\n" + "\n".join(
        f"    at level{index} (/app/deep.js:{index}:1)" for index in range(count)
    )


def test_python_keeps_the_frames_nearest_the_raise_site() -> None:
    trace = parsed(python_frames(500))

    assert len(trace.frames) == MAX_FRAMES
    assert trace.frames[0]["function"] == "level300"
    assert trace.frames[-1]["function"] == "level499"


def test_v8_keeps_the_frames_nearest_the_raise_site() -> None:
    trace = parsed(v8_frames(500))

    assert len(trace.frames) == MAX_FRAMES
    assert trace.frames[0]["function"] == "level199"
    assert trace.frames[-1]["function"] == "level0"


def test_ruby_and_go_keep_the_frames_nearest_the_raise_site() -> None:
    ruby = "\n".join(f"/app/deep.rb:{index}:in `level{index}'" for index in range(500))
    go = "goroutine 1 [running]:\n" + "".join(
        f"main.level{index}()\n\t/app/deep.go:{index} +0x1\n" for index in range(500)
    )

    for text in (ruby, go):
        trace = parsed(text)

        assert len(trace.frames) == MAX_FRAMES
        assert trace.frames[0]["function"] == "level199"
        assert trace.frames[-1]["function"] == "level0"


def test_python_beyond_the_text_cap_keeps_its_end() -> None:
    text = "x" * (3 * MAX_TEXT) + "\n" + PYTHON_CARETS

    trace = parsed(text)

    assert (trace.exception_type, len(trace.frames)) == ("ZeroDivisionError", 3)


def test_newest_first_formats_beyond_the_text_cap_keep_their_start() -> None:
    garbage = "\n" + "y" * (3 * MAX_TEXT)

    assert parsed(NODE_ASYNC + garbage).frames[-1] == at(SERVER, "Repo.find", 3, 35)
    assert parsed(RUBY_FULL_MESSAGE + garbage).frames == RUBY_FRAMES
    assert parsed(GO_PANIC + garbage).frames[-1] == GO_RAISE_SITE[-1]


def test_text_cap_never_reads_a_line_cut_in_half() -> None:
    prefix = "Error: e\n    at keep (/app/k.js:1:1)\n"
    # Cut at the cap, "    at fn (/app/x.js:12" would read as a frame at line 12 of "fn (/app/x.js".
    straddling = "    at fn (/app/x.js:123456:7)\n"
    blank_lines = "\n" * (MAX_TEXT - len(prefix) - 20)

    within = parsed(prefix + blank_lines[:100] + straddling)
    straddled = parsed(prefix + blank_lines + straddling + "z" * 100)

    assert within.frames == [at("/app/x.js", "fn", 123456, 7), at("/app/k.js", "keep", 1, 1)]
    assert straddled.frames == [at("/app/k.js", "keep", 1, 1)]


def test_long_lines_are_cut_and_read_as_no_frame() -> None:
    long_path = "/app/" + "d/" * MAX_LINE + "x.js"
    text = f"Error: e\n    at near (/app/x.js:1:2)\n    at far ({long_path}:3:4)"

    trace = parsed(text)

    assert trace.frames == [at("/app/x.js", "near", 1, 2)]


def test_a_long_message_is_cut() -> None:
    text = PYTHON_CARETS.replace("division by zero", "z" * (5 * MAX_LINE))

    trace = parsed(text)

    assert trace.message == "z" * (MAX_LINE - len("ZeroDivisionError: ")) + "…"


def test_ruby_frame_is_read_before_a_long_message() -> None:
    text = "/app/x.rb:3:in `m': " + "q" * (2 * MAX_LINE) + " (RuntimeError)\n\tfrom /app/x.rb:9:in `<main>'"

    trace = parsed(text)

    assert trace.frames == [at("/app/x.rb", "<main>", 9), at("/app/x.rb", "m", 3)]
    assert trace.exception_type is None  # the class came after the cut
    assert trace.message is not None and trace.message.endswith("q…")


def test_absurd_line_numbers_are_left_out() -> None:
    trace = parsed(
        'Traceback (most recent call last):\n  File "/a.py", line 12345678901234567890, in f\nE: x'
    )

    assert trace.frames == [at("/a.py", "f")]


def test_hostile_repetition_stays_bounded() -> None:
    for unit in ('  File "', "    at (", "a:1:in `", "\tx:1\nf()\n", "panic: ", "at :1:1 (", "\n"):
        text = unit * (4 * MAX_TEXT // len(unit))

        trace = parse_stack_trace(text)

        assert trace is None or len(trace.frames) <= MAX_FRAMES


# --- any input ------------------------------------------------------------------------------------------

FRAGMENTS = [
    "Traceback (most recent call last):",
    '  File "/srv/app/x.py", line 3, in f',
    '  File "',
    "    return 1 / 0",
    "           ~~^~~",
    "During handling of the above exception, another exception occurred:",
    "ZeroDivisionError: division by zero",
    "TypeError: x",
    "    at f (/app/x.js:1:2)",
    "    at /app/x.js:1:2",
    "    at async Promise.all (index 0)",
    "    at new Foo (file:///C:/app/x.mjs:3:9)",
    "    at bad (eval at main (/app/x.js:21:9), <anonymous>:1:24)",
    "    at (",
    "app/models/user.rb:42:in 'full_name'",
    "/app/x.rb:3:in `m': undefined method `x' for nil (NoMethodError)",
    "\tfrom main.rb:4:in `render'",
    "goroutine 1 [running]:",
    "main.(*Server).handle(0xc000010000)",
    "\t/home/u/app/main.go:25 +0x1d",
    "panic: runtime error: index out of range [5] with length 3 [recovered]",
    "\tpanic: again",
    "created by main.main in goroutine 1",
    "panic({0x1, 0x2})",
    "",
]

lines = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(" \t:()\"`'/.0123456789atinFLe~^[]{}%\ud800\x00\r"), max_size=60),
    st.builds(lambda fragment, cut: fragment[:cut], st.sampled_from(FRAGMENTS), st.integers(0, 60)),
)
hints = st.one_of(
    st.none(), st.sampled_from(["python", "node", "javascript", "ruby", "go", "golang"]), st.text()
)


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, max_size=60), st.sampled_from(["\n", "\r\n"]), hints)
def test_any_mixture_of_lines_gives_a_bounded_trace_or_none(
    parts: list[str], separator: str, hint: str | None
) -> None:
    trace = parse_stack_trace(separator.join(parts), hint)

    if trace is None:
        return
    assert trace.platform in {"python", "node", "ruby", "go"}
    assert 1 <= len(trace.frames) <= MAX_FRAMES
    for frame in trace.frames:
        assert frame and all(value is not None and value != "" for value in frame.values())
        Frame.model_validate(frame)
        assert all(len(value) <= MAX_LINE + 1 for value in frame.values() if isinstance(value, str))
    for text in (trace.exception_type, trace.message):
        assert text is None or (text and len(text) <= MAX_TEXT)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=2000), hints)
def test_any_text_gives_a_bounded_trace_or_none(text: str, hint: str | None) -> None:
    trace = parse_stack_trace(text, hint)

    assert trace is None or 1 <= len(trace.frames) <= MAX_FRAMES
