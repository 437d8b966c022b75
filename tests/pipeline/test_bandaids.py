"""Band-aids: a fix that hides the error instead of fixing it is refused, in every spelling we know of, and
real fixes (guards, re-raises, domain errors, handlers for other errors, code that only moved) pass."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from integrations.providers import FixRequest, FrameSummary
from integrations.rules import RulesProvider
from pipeline.bandaids import band_aid_findings
from pipeline.patch import apply_edits

CASES = Path(__file__).parent / "policy_cases"
RULE_REPOS = Path(__file__).parent.parent / "integrations" / "repos"

CATALOG = "def average(xs):\n    return sum(xs) / len(xs)\n"


def guarded(handler: str, prelude: str = "") -> str:
    """CATALOG with its division in a try and ``handler`` after it (indented by four)."""
    return f"{prelude}def average(xs):\n    try:\n        return sum(xs) / len(xs)\n{handler}"


def catalog(new: str, error_type: str = "ZeroDivisionError") -> list[str]:
    return band_aid_findings("shop/catalog.py", CATALOG, new, error_type)


# --- Python ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "error_type", "expected"),
    [
        (
            guarded("    except ZeroDivisionError:\n        return 0\n"),
            "ZeroDivisionError",
            "line 4: `except ZeroDivisionError` returns a constant instead of fixing the ZeroDivisionError",
        ),
        (
            guarded("    except ArithmeticError:\n        pass\n"),
            "ZeroDivisionError",
            "line 4: `except ArithmeticError` swallows the ZeroDivisionError instead of fixing it",
        ),
        (
            guarded("    except (ValueError, ZeroDivisionError) as error:\n        return float('nan')\n"),
            "builtins.ZeroDivisionError",
            "line 4: `except (ValueError, ZeroDivisionError)` returns a constant",
        ),
        (
            guarded("    except E:\n        return None\n", "E = Exception\n"),
            "ZeroDivisionError",
            "line 5: `except E` returns a constant",
        ),
        (
            guarded(
                "    except ERRORS:\n        return None\n", "ERRORS = (ZeroDivisionError, ValueError)\n"
            ),
            "ZeroDivisionError",
            "line 5: `except ERRORS` returns a constant",
        ),
        (
            guarded("    except (KeyError, *MORE):\n        pass\n", "MORE = [ArithmeticError]\n"),
            "ZeroDivisionError",
            "line 5: `except (KeyError, *MORE)` swallows the ZeroDivisionError",
        ),
        (
            guarded("    except Z:\n        return 0\n", "from builtins import ZeroDivisionError as Z\n"),
            "ZeroDivisionError",
            "line 5: `except Z` returns a constant",
        ),
        (
            # Shadowing the name with itself must not make it vanish from the handler.
            guarded(
                "    except ZeroDivisionError:\n        return 0\n", "ZeroDivisionError = ZeroDivisionError\n"
            ),
            "ZeroDivisionError",
            "line 5: `except ZeroDivisionError` returns a constant",
        ),
        (
            guarded("    except EnvironmentError:\n        return ''\n"),
            "OSError",  # EnvironmentError is OSError itself
            "line 4: `except EnvironmentError` returns a constant instead of fixing the OSError",
        ),
        (
            guarded("    except Exception:\n        logger.warning('no average')\n        return default\n"),
            "ZeroDivisionError",
            "line 4: `except Exception` swallows the ZeroDivisionError",
        ),
        (
            guarded("    except:\n        return 0\n"),
            "",
            "line 4: `except` returns a constant instead of fixing the error",
        ),
        (
            guarded("    except* ZeroDivisionError:\n        pass\n"),
            "ZeroDivisionError",
            "line 4: `except* ZeroDivisionError` swallows",
        ),
        (
            # What a call returns cannot be known, so it is taken to catch anything.
            guarded("    except errors_of(xs):\n        return 0\n"),
            "ZeroDivisionError",
            "line 4: `except errors_of(xs)` returns a constant",
        ),
        (
            guarded(
                "    except ZeroDivisionError:\n        if strict:\n            raise\n        return 0\n"
            ),
            "ZeroDivisionError",
            "line 4: `except ZeroDivisionError` returns a constant",
        ),
        (
            "from contextlib import suppress\n\n\ndef average(xs):\n"
            "    with suppress(ZeroDivisionError):\n        return sum(xs) / len(xs)\n",
            "ZeroDivisionError",
            "line 5: `suppress(ZeroDivisionError)` swallows the ZeroDivisionError",
        ),
        (
            "from contextlib import suppress as quietly\n\n\ndef average(xs):\n"
            "    with quietly(ArithmeticError):\n        return sum(xs) / len(xs)\n",
            "ZeroDivisionError",
            "line 5: `quietly(ArithmeticError)` swallows",
        ),
        (
            guarded("    finally:\n        return 0\n"),
            "ZeroDivisionError",
            "`finally` returns or jumps out, which swallows any exception raised before it",
        ),
        (
            "def average(xs):\n    for x in xs:\n        try:\n            total = sum(xs) / len(xs)\n"
            "        finally:\n            continue\n    return total\n",
            "",
            "`finally` returns or jumps out",
        ),
    ],
    ids=[
        "constant-return",
        "parent-class",
        "tuple-dotted-error-type",
        "alias",
        "alias-tuple",
        "starred-list",
        "builtins-import-alias",
        "self-shadowing",
        "builtin-alias-class",
        "exception-with-logging",
        "bare-unknown-error",
        "except-star",
        "dynamic-type",
        "conditional-reraise",
        "suppress",
        "suppress-renamed-parent",
        "finally-return",
        "finally-continue",
    ],
)
def test_a_python_handler_that_hides_the_error_is_refused(new, error_type, expected):
    findings = catalog(new, error_type)

    assert len(findings) == 1 and expected in findings[0], findings
    assert findings[0].startswith("shop/catalog.py line ") and findings[0].endswith("; fix the cause")


@pytest.mark.parametrize(
    ("new", "error_type"),
    [
        (
            guarded("    except ZeroDivisionError:\n        logger.exception('no average')\n        raise\n"),
            "",
        ),
        (guarded("    except ZeroDivisionError as error:\n        raise EmptyCatalog(xs) from error\n"), ""),
        (
            guarded(
                "    except ZeroDivisionError as error:\n        if xs:\n            raise\n"
                "        raise Empty from error\n"
            ),
            "",
        ),
        (guarded("    except ValueError:\n        return None\n"), "ZeroDivisionError"),
        (guarded("    except KeyError:\n        return 0\n"), ""),  # no error type: only catch-alls count
        (guarded("    finally:\n        log('averaged')\n"), "ZeroDivisionError"),
        (guarded("    finally:\n        for x in xs:\n            break\n"), "ZeroDivisionError"),
        (
            "def average(xs):\n    if not xs:\n        return 0\n    return sum(xs) / len(xs)\n",
            "ZeroDivisionError",
        ),
        # A string that mentions a handler is not one.
        (
            "def average(xs):\n    '''Never `except ZeroDivisionError: return 0` here.'''\n"
            "    return sum(xs) / len(xs) if xs else 0\n",
            "ZeroDivisionError",
        ),
    ],
    ids=[
        "log-and-reraise",
        "domain-error",
        "reraise-on-every-path",
        "unrelated-type",
        "unrelated-without-error-type",
        "finally-without-return",
        "break-of-its-own-loop",
        "guard",
        "docstring",
    ],
)
def test_python_fixes_and_handlers_that_raise_again_pass(new, error_type):
    assert catalog(new, error_type) == []


def test_an_existing_python_handler_that_only_moved_passes():
    handler = "    try:\n        rows = load()\n    except Exception:\n        rows = []\n"
    old = f"def report(shop):\n{handler}    return len(rows) / shop.visits\n"
    indented = handler.replace("\n    ", "\n        ").replace("    try", "        try", 1)
    new = (
        "import logging\n\n\ndef report(shop):\n    rows = []\n    if shop.open:\n"
        f"{indented}    return len(rows) / shop.visits if shop.visits else 0\n"
    )

    assert band_aid_findings("shop/report.py", old, new, "ZeroDivisionError") == []


def test_a_second_copy_of_an_existing_swallowing_handler_is_new():
    swallow = "    try:\n        {}\n    except Exception:\n        pass\n"
    old = "def sync(a, b):\n" + swallow.format("a.sync()")
    new = old + swallow.format("b.sync()")

    assert band_aid_findings("app/sync.py", old, new, "TimeoutError") == [
        "app/sync.py line 8: `except Exception` swallows the TimeoutError instead of fixing it; fix the cause"
    ]


def test_a_handler_whose_alias_changes_to_the_error_is_new():
    old = "E = ValueError\n\n\ndef f(x):\n    try:\n        return 1 / x\n    except E:\n        return 0\n"
    new = old.replace("E = ValueError", "E = ArithmeticError")

    assert band_aid_findings("a.py", old, new, "ZeroDivisionError") == [
        "a.py line 7: `except E` returns a constant instead of fixing the ZeroDivisionError; fix the cause"
    ]


def test_an_alias_maze_is_refused_rather_than_followed_for_ever():
    # 30 names, each a tuple of the next one ten times: 10**30 paths if followed naively.
    maze = "".join(f"A{n} = ({', '.join([f'A{n + 1}'] * 10)},)\n" for n in range(30)) + "A30 = KeyError\n"
    new = guarded("    except A0:\n        return 0\n", maze)

    findings = catalog(new)

    assert len(findings) == 1 and "`except A0` returns a constant" in findings[0]


@pytest.mark.parametrize(
    ("new", "error_type", "expected"),
    [
        (
            "class Quietly:\n    def __enter__(self):\n        return self\n\n"
            "    def __exit__(self, *exc):\n        return True\n",
            "ZeroDivisionError",
            "line 9: `def __exit__` swallows the ZeroDivisionError",
        ),
        (
            "class Order:\n    def __getattr__(self, name):\n        return None\n",
            "AttributeError",
            "line 6: `def __getattr__` returns a constant instead of fixing the AttributeError",
        ),
    ],
    ids=["exit-returns-true", "getattr-answers-none"],
)
def test_a_python_hook_that_hides_the_error_is_refused(new, error_type, expected):
    findings = band_aid_findings("shop/catalog.py", CATALOG, CATALOG + "\n\n" + new, error_type)

    assert len(findings) == 1 and expected in findings[0], findings


@pytest.mark.parametrize(
    "hook",
    [
        "    def __exit__(self, *exc):\n        self.close()\n        return False\n",
        "    def __getattr__(self, name):\n        raise AttributeError(name)\n",
    ],
    ids=["exit-lets-errors-through", "getattr-raises"],
)
def test_python_hooks_that_let_the_error_through_pass(hook):
    new = CATALOG + "\n\nclass Session:\n" + hook

    assert band_aid_findings("shop/catalog.py", CATALOG, new, "AttributeError") == []


def test_findings_stop_at_ten_and_say_how_many_more():
    handlers = "".join(
        f"    try:\n        step{n}()\n    except Exception:\n        pass\n" for n in range(25)
    )

    findings = band_aid_findings("app/steps.py", "", f"def run():\n{handlers}", "KeyError")

    assert (
        len(findings) == 11
        and findings[-1] == "app/steps.py: 15 more handlers or suppressions that hide errors"
    )


def test_a_file_that_does_not_parse_has_no_band_aid_findings():
    # The syntax check refuses it, with a better reason than any guess here.
    assert catalog(guarded("    except ZeroDivisionError\n        return 0\n")) == []


# --- JavaScript and TypeScript -----------------------------------------------------------------------

USERS = "function name(user) {\n  return user.profile.name;\n}\n"


def wrapped(handler: str, body: str = "    return user.profile.name;\n") -> str:
    return f"function name(user) {{\n  try {{\n{body}  }} {handler}\n}}\n"


@pytest.mark.parametrize(
    ("path", "new", "expected"),
    [
        (
            "web/users.js",
            wrapped("catch (e) {\n    return '';\n  }"),
            "line 4: `catch (e)` returns a constant",
        ),
        ("web/users.js", wrapped("catch {\n  }"), "line 4: `catch` swallows the TypeError"),
        ("web/users.js", wrapped("catch (e) {\n    console.error(e);\n  }"), "`catch (e)` swallows"),
        ("web/users.js", wrapped("catch (e) {\n    if (strict) throw e;\n    return null;\n  }"), "constant"),
        (
            "web/users.js",
            wrapped("finally {\n    return null;\n  }"),
            "line 4: `finally` returns or jumps out",
        ),
        ("web/users.ts", wrapped("catch (e: unknown) {\n    return undefined;\n  }"), "`catch (e)` returns"),
        ("web/users.tsx", wrapped("catch (e) {\n    return <span />;\n  }"), "`catch (e)` swallows"),
        (
            "web/users.js",
            "function name(user) {\n  return load(user).then((u) => u.profile.name).catch(() => null);\n}\n",
            "line 2: `.catch(…)` returns a constant instead of fixing the TypeError",
        ),
        (
            "web/users.js",
            "function name(user) {\n  return load(user)\n    .then((u) => u.profile.name)\n"
            "    .catch(console.error);\n}\n",
            "line 4: `.catch(…)` swallows",
        ),
        (
            "web/users.js",
            "function name(user) {\n  return load(user).then((u) => u.profile.name, (error) => ({}));\n}\n",
            "line 2: `.then(…)` returns a constant",
        ),
        (
            "web/users.js",
            wrapped("catch (e) {\n    if (!(e instanceof TypeError)) throw e;\n    return '';\n  }"),
            "`catch (e)` returns a constant",  # narrowed, but to the very error
        ),
    ],
    ids=[
        "catch-constant",
        "optional-binding-empty",
        "catch-and-log",
        "conditional-throw",
        "finally-return",
        "typescript",
        "tsx",
        "promise-catch",
        "promise-catch-logger",
        "then-rejection-handler",
        "narrowed-to-the-error",
    ],
)
def test_a_javascript_catch_that_hides_the_error_is_refused(path, new, expected):
    findings = band_aid_findings(path, USERS, new, "TypeError")

    assert len(findings) == 1 and expected in findings[0], findings


@pytest.mark.parametrize(
    "new",
    [
        wrapped("catch (e) {\n    log(e);\n    throw e;\n  }"),
        wrapped("catch (e) {\n    throw new ProfileError('no profile', { cause: e });\n  }"),
        wrapped("catch (e) {\n    return next(e);\n  }"),
        wrapped("catch (e) {\n    return Promise.reject(e);\n  }"),
        wrapped(
            "catch (e) {\n    if (!(e instanceof SyntaxError)) throw e;\n    return null;\n  }",
            "    return JSON.parse(user.profile?.raw);\n",
        ),
        "function name(user) {\n  return load(user).then((u) => u.profile?.name).catch(next);\n}\n",
        "function name(user) {\n  return load(user).catch((e) => {\n"
        "    throw new ProfileError(e);\n  });\n}\n",
        "function name(user) {\n  return user.profile?.name;\n}\n",
        "function name(user) {\n  return user.profile ? user.profile.name : '';  // no catch here\n}\n",
    ],
    ids=[
        "log-and-rethrow",
        "domain-error",
        "express-next",
        "promise-reject",
        "narrowed-to-another-error",
        "promise-catch-next",
        "promise-catch-rethrow",
        "optional-chaining",
        "comment-mentions-catch",
    ],
)
def test_javascript_fixes_and_catches_that_throw_again_pass(new):
    assert band_aid_findings("web/users.js", USERS, new, "TypeError") == []


def test_an_existing_javascript_catch_that_only_moved_passes():
    catch = "  try {\n    track(user);\n  } catch (e) {\n    // analytics are best effort\n  }\n"
    old = f"function name(user) {{\n{catch}  return user.profile.name;\n}}\n"
    guard = "  if (!user.profile) {\n    return '';\n  }\n"
    new = f"function name(user) {{\n{guard}{catch}  return user.profile.name;\n}}\n"

    assert band_aid_findings("web/users.js", old, new, "TypeError") == []


def test_deeply_nested_javascript_is_read_without_exhausting_the_stack():
    depth = 5000
    new = "function f() {\n" + "{" * depth + "try { g(); } catch (e) { return 0; }" + "}" * depth + "\n}\n"

    findings = band_aid_findings("web/deep.js", "function f() {\n  g();\n}\n", new, "TypeError")

    assert findings == [
        "web/deep.js line 2: `catch (e)` returns a constant instead of fixing the TypeError; fix the cause"
    ]


# --- Ruby --------------------------------------------------------------------------------------------

SHIPPING = "def city(order)\n  order.address.city\nend\n"


def rescued(clause: str) -> str:
    return f"def city(order)\n  order.address.city\n{clause}end\n"


@pytest.mark.parametrize(
    ("new", "error_type", "expected"),
    [
        (
            "def city(order)\n  order.address.city rescue nil\nend\n",
            "NoMethodError",
            "`rescue nil` returns a constant",
        ),
        (
            "def city(order)\n  order.address.city rescue fallback(order)\nend\n",
            "NoMethodError",
            "`rescue fallback(order)` swallows",
        ),
        (
            rescued("rescue NoMethodError\n  nil\n"),
            "NoMethodError",
            "line 3: `rescue NoMethodError` returns a constant",
        ),
        (
            rescued("rescue NameError => e\n  log(e)\n  ''\n"),
            "NoMethodError",
            "`rescue NameError => e` returns a constant",
        ),
        (rescued("rescue\n  'unknown'\n"), "NoMethodError", "line 3: `rescue` returns a constant"),
        (rescued("rescue => e\n  notify(e)\n"), "NoMethodError", "`rescue => e` swallows the NoMethodError"),
        (
            rescued("rescue Exception\n  nil\n"),
            "",
            "`rescue Exception` returns a constant instead of fixing the error",
        ),
        (rescued("rescue IndexError\n  0\n"), "KeyError", "`rescue IndexError` returns a constant"),
        (rescued("rescue ZeroDivisionError, TypeError\n  0\n"), "ZeroDivisionError", "returns a constant"),
        (
            rescued("rescue ActiveRecord::RecordNotFound\n  nil\n"),
            "ActiveRecord::RecordNotFound",
            "`rescue ActiveRecord::RecordNotFound` returns a constant instead of fixing the RecordNotFound",
        ),
        (
            "QUIET = [NoMethodError, KeyError].freeze\n\n" + rescued("rescue *QUIET\n  nil\n"),
            "NoMethodError",
            "`rescue *QUIET` returns a constant",
        ),
        (rescued("rescue NoMethodError\n  retry\n"), "NoMethodError", "`rescue NoMethodError` swallows"),
        (rescued("ensure\n  return 'x'\n"), "NoMethodError", "`ensure` returns or jumps out"),
        (
            "def cities(orders)\n  orders.map do |order|\n    order.address.city\n  rescue NoMethodError\n"
            "    next\n  end\nend\n",
            "NoMethodError",
            "`rescue NoMethodError` returns a constant",
        ),
    ],
    ids=[
        "modifier-nil",
        "modifier-fallback",
        "method-rescue",
        "parent-class",
        "bare-rescue",
        "bare-rescue-with-variable",
        "exception-without-error-type",
        "keyerror-parent",
        "list",
        "namespaced",
        "splat-constant",
        "retry-forever",
        "ensure-return",
        "block-rescue-next",
    ],
)
def test_a_ruby_rescue_that_hides_the_error_is_refused(new, error_type, expected):
    findings = band_aid_findings("lib/shipping.rb", SHIPPING, new, error_type)

    assert len(findings) == 1 and expected in findings[0], findings


def test_a_new_method_missing_that_answers_the_call_is_refused():
    new = SHIPPING + "\nclass NilClass\n  def method_missing(*)\n    nil\n  end\nend\n"

    assert band_aid_findings("lib/shipping.rb", SHIPPING, new, "NoMethodError") == [
        "lib/shipping.rb line 6: `def method_missing` returns a constant instead of fixing the "
        "NoMethodError; fix the cause"
    ]


def test_a_method_missing_that_always_calls_super_passes():
    new = SHIPPING + "\ndef method_missing(name, *args)\n  log(name)\n  super\nend\n"

    assert band_aid_findings("lib/shipping.rb", SHIPPING, new, "NoMethodError") == []


@pytest.mark.parametrize(
    ("new", "error_type"),
    [
        (rescued("rescue NoMethodError => e\n  logger.warn(e.message)\n  raise\n"), "NoMethodError"),
        (rescued("rescue NoMethodError => e\n  raise ShippingError, e.message\n"), "NoMethodError"),
        (
            rescued("rescue => e\n  if e.message.empty?\n    raise\n  else\n    fail ShippingError\n  end\n"),
            "",
        ),
        (rescued("rescue Timeout::Error\n  nil\n"), "NoMethodError"),
        (rescued("rescue KeyError\n  nil\n"), "NoMethodError"),
        ("def city(order)\n  order.address&.city\nend\n", "NoMethodError"),
        ("def city(order)\n  order.address.city if order.address\nend\n", "NoMethodError"),
        ("def city(order)\n  # never rescue nil here\n  order.address&.city\nend\n", "NoMethodError"),
    ],
    ids=[
        "log-and-reraise",
        "domain-error",
        "raise-on-every-branch",
        "unrelated-namespaced",
        "unrelated-sibling",
        "safe-navigation",
        "guard",
        "comment-mentions-rescue",
    ],
)
def test_ruby_fixes_and_rescues_that_raise_again_pass(new, error_type):
    assert band_aid_findings("lib/shipping.rb", SHIPPING, new, error_type) == []


# --- Go ----------------------------------------------------------------------------------------------

NIL_PANIC = "runtime error: invalid memory address or nil pointer dereference"
GO_NAME = "package main\n\nfunc name(u *User) string {\n\treturn u.Name\n}\n"


def deferred(closure: str, results: str = "(s string)") -> str:
    body = f"\tdefer func() {{\n{closure}\t}}()\n\treturn u.Name\n"
    return f"package main\n\nfunc name(u *User) {results} {{\n{body}}}\n"


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        (deferred("\t\trecover()\n"), "line 5: `recover()` swallows the panic instead of fixing it"),
        (
            deferred("\t\tif r := recover(); r != nil {\n\t\t\tlog.Println(r)\n\t\t}\n"),
            "`recover()` swallows",
        ),
        (
            deferred('\t\tif r := recover(); r != nil {\n\t\t\ts = ""\n\t\t}\n'),
            "`recover()` returns a constant",
        ),
        (deferred('\t\tr := recover()\n\t\tif r != nil {\n\t\t\ts = "?"\n\t\t}\n'), "returns a constant"),
        (
            deferred('\t\tif recover() != nil {\n\t\t\tlog.Print("recovered")\n\t\t}\n'),
            "`recover()` swallows",
        ),
        (
            deferred(
                "\t\tif r := recover(); r != nil {\n\t\t\tif false {\n\t\t\t\tpanic(r)\n\t\t\t}\n\t\t}\n"
            ),
            "swallows",
        ),
        (
            deferred("\t\tif r := recover(); r != nil {\n\t\t\terr = nil\n\t\t}\n", "(s string, err error)"),
            "returns a constant",
        ),
    ],
    ids=[
        "dropped",
        "only-logged",
        "constant-result",
        "checked-later",
        "compared-directly",
        "dead-repanic",
        "nil-error",
    ],
)
def test_a_go_recover_that_hides_the_panic_is_refused(new, expected):
    findings = band_aid_findings("main.go", GO_NAME, new, NIL_PANIC)

    assert len(findings) == 1 and expected in findings[0], findings


@pytest.mark.parametrize(
    "new",
    [
        deferred("\t\tif r := recover(); r != nil {\n\t\t\tlog.Println(r)\n\t\t\tpanic(r)\n\t\t}\n"),
        deferred(
            '\t\tif r := recover(); r != nil {\n\t\t\terr = fmt.Errorf("name: %v", r)\n\t\t}\n',
            "(s string, err error)",
        ),
        deferred('\t\tif r := recover(); r != nil {\n\t\t\terrs <- fmt.Errorf("name: %v", r)\n\t\t}\n'),
        deferred('\t\tif r := recover(); r != nil {\n\t\t\tlog.Panicf("name: %v", r)\n\t\t}\n'),
        "package main\n\nfunc name(u *User) (string, error) {\n\tif u == nil {\n"
        '\t\treturn "", errors.New("name: no user")\n\t}\n\treturn u.Name, nil\n}\n',
    ],
    ids=["repanic", "named-error", "sent-on", "log-panic", "nil-check"],
)
def test_go_fixes_and_recovers_that_pass_the_panic_on_pass(new):
    assert band_aid_findings("main.go", GO_NAME, new, NIL_PANIC) == []


def test_an_existing_go_recover_elsewhere_in_the_file_passes():
    middleware = (
        "\nfunc safe(next http.Handler) http.Handler {\n\treturn http.HandlerFunc(func(w http.ResponseWriter,"
        " r *http.Request) {\n\t\tdefer func() {\n\t\t\tif p := recover(); p != nil {\n"
        '\t\t\t\thttp.Error(w, "oops", 500)\n\t\t\t}\n\t\t}()\n\t\tnext.ServeHTTP(w, r)\n\t})\n}\n'
    )
    fixed = GO_NAME.replace("\treturn u.Name\n", '\tif u == nil {\n\t\treturn ""\n\t}\n\treturn u.Name\n')

    assert band_aid_findings("main.go", GO_NAME + middleware, fixed + middleware, NIL_PANIC) == []


# --- suppressions and skipped tests ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "old", "new", "label"),
    [
        ("a.py", "x = f()\n", "x = f()  # noqa: F821\n", "# noqa"),
        ("a.py", "x = f()\n", "x = f()  # NOQA\n", "# noqa"),
        ("a.py", "x = f()\n", "x = f()  # type: ignore[attr-defined]\n", "# type: ignore"),
        ("a.py", "x = f()\n", "x = f()  # pyright: ignore\n", "# pyright: ignore"),
        ("a.py", "x = f()\n", "# pylint: disable=no-member\nx = f()\n", "# pylint: disable"),
        ("a.py", "x = f()\n", "x = f()  # nosec B101\n", "# nosec"),
        ("a.py", "x = f()\n", "if x:  # pragma: no cover\n    x = f()\n", "# pragma: no cover"),
        ("a.py", "x = f()\n", "# mypy: ignore-errors\nx = f()\n", "# mypy: ignore-errors"),
        ("a.js", "f();\n", "// eslint-disable-next-line no-undef\nf();\n", "eslint-disable"),
        ("a.js", "f();\n", "/* eslint-disable */\nf();\n", "eslint-disable"),
        ("a.js", "f();\n", "/* eslint no-undef: off */\nf();\n", "/* eslint … off */"),
        ("a.ts", "f();\n", "// @ts-ignore\nf();\n", "@ts-ignore"),
        ("a.ts", "f();\n", "// @ts-expect-error\nf();\n", "@ts-expect-error"),
        ("a.ts", "f();\n", "// @ts-nocheck\nf();\n", "@ts-nocheck"),
        ("a.js", "f();\n", "/* istanbul ignore next */\nf();\n", "istanbul ignore"),
        ("a.js", "f();\n", "// prettier-ignore\nf();\n", "prettier-ignore"),
        ("a.rb", "f\n", "f # rubocop:disable Style/Send\n", "# rubocop:disable"),
        ("a.rb", "f\n", "# :nocov:\nf\n# :nocov:\n", "# :nocov:"),
        ("a.go", "package a\n", "package a\n\nvar x = f() //nolint:errcheck\n", "//nolint"),
        ("a.go", "package a\n", "package a\n\n//lint:ignore SA1019 old\nvar x = f()\n", "//lint:ignore"),
        ("a.go", "package a\n", "package a\n\nvar x = f() // #nosec G104\n", "#nosec"),
        ("a.go", "package a\n", "//go:build ignore\n\npackage a\n", "//go:build ignore"),
    ],
)
def test_a_new_checker_suppression_is_refused(path, old, new, label):
    findings = band_aid_findings(path, old, new)

    assert any(f"the change adds `{label}`, which silences a checker" in finding for finding in findings), (
        findings
    )


REASONS = {"skip": "which keeps a test from running or failing", "focus": "which runs this test alone"}


@pytest.mark.parametrize(
    ("path", "new", "label", "what"),
    [
        (
            "tests/test_a.py",
            "import pytest\n\n\n@pytest.mark.skip\ndef test_a():\n    pass\n",
            "pytest.mark.skip",
            "skip",
        ),
        (
            "tests/test_a.py",
            "import pytest\n\n\n@pytest.mark.skipif(True, reason='x')\ndef test_a():\n    pass\n",
            "pytest.mark.skipif",
            "skip",
        ),
        (
            "tests/test_a.py",
            "import pytest\n\n\n@pytest.mark.xfail\ndef test_a():\n    pass\n",
            "pytest.mark.xfail",
            "skip",
        ),
        (
            "tests/test_a.py",
            "import pytest\n\n\ndef test_a():\n    pytest.skip('later')\n",
            "pytest.skip",
            "skip",
        ),
        (
            "tests/test_a.py",
            "import pytest\n\nyaml = pytest.importorskip('yaml')\n",
            "pytest.importorskip",
            "skip",
        ),
        (
            "tests/test_a.py",
            "import unittest\n\n\n@unittest.skip('x')\nclass T:\n    pass\n",
            "unittest.skip",
            "skip",
        ),
        (
            "tests/test_a.py",
            "from unittest import skip\n\n\n@skip('x')\ndef test_a():\n    pass\n",
            "@skip",
            "skip",
        ),
        (
            "tests/test_a.py",
            "class T:\n    def test_a(self):\n        self.skipTest('x')\n",
            "self.skipTest",
            "skip",
        ),
        ("test/a.test.js", "it.skip('a', () => {});\n", "it.skip", "skip"),
        ("test/a.test.js", "describe.skip('a', () => {});\n", "describe.skip", "skip"),
        ("test/a.test.js", "test.skip.each([1])('a %i', () => {});\n", "test.skip", "skip"),
        ("test/a.test.js", "xit('a', () => {});\n", "xit", "skip"),
        ("test/a.test.js", "xdescribe('a', () => {});\n", "xdescribe", "skip"),
        ("test/a.test.ts", "test.todo('a');\n", "test.todo", "skip"),
        ("test/a.test.js", "it.only('a', () => {});\n", "it.only", "focus"),
        ("test/a.test.js", "fdescribe('a', () => {});\n", "fdescribe", "focus"),
        ("spec/a_spec.rb", "describe 'a' do\n  it 'b' do\n    skip\n  end\nend\n", "skip", "skip"),
        ("spec/a_spec.rb", "describe 'a' do\n  it 'b' do\n    pending 'x'\n  end\nend\n", "pending", "skip"),
        ("spec/a_spec.rb", "describe 'a' do\n  xit 'b' do\n  end\nend\n", "xit", "skip"),
        ("spec/a_spec.rb", "describe 'a' do\n  it 'b', skip: true do\n  end\nend\n", "skip", "skip"),
        ("spec/a_spec.rb", "describe 'a' do\n  it 'b', :focus do\n  end\nend\n", "focus", "focus"),
        (
            "test/a_test.rb",
            "class ATest < Minitest::Test\n  def test_b\n    skip 'x'\n  end\nend\n",
            "skip",
            "skip",
        ),
        ("a_test.go", 'package a\n\nfunc TestA(t *testing.T) {\n\tt.Skip("x")\n}\n', "t.Skip", "skip"),
        (
            "a_test.go",
            'package a\n\nfunc TestA(t *testing.T) {\n\tt.Run("b", func(u *testing.T) {\n'
            "\t\tu.SkipNow()\n\t})\n}\n",
            "u.SkipNow",
            "skip",
        ),
        (
            "a_test.go",
            'package a\n\nfunc BenchmarkA(b *testing.B) {\n\tb.Skipf("x %d", 1)\n}\n',
            "b.Skipf",
            "skip",
        ),
    ],
)
def test_a_new_skipped_or_focused_test_is_refused(path, new, label, what):
    findings = band_aid_findings(path, None, new)

    reason = REASONS[what]
    assert len(findings) == 1 and f"the change adds `{label}`, {reason}" in findings[0], findings


@pytest.mark.parametrize(
    ("path", "old", "new"),
    [
        # The words inside strings are not comments.
        ("a.py", "x = 1\n", "x = '# noqa'\ny = \"# type: ignore\"\n"),
        ("a.js", "f();\n", "const rule = '// eslint-disable';\nf();\n"),
        ("a.rb", "f\n", "NOTE = '# rubocop:disable'\nf\n"),
        ("a.go", "package a\n", 'package a\n\nconst note = "//nolint"\n'),
        # Comments that were already there, on lines the fix rewrote or moved.
        ("a.py", "x = f()  # noqa: F821\n", "if g():\n    x = f()  # noqa: F821\n"),
        ("a.js", "// eslint-disable-next-line\nf();\n", "g();\n// eslint-disable-next-line\nf(1);\n"),
        (
            "a.ts",
            "// @ts-expect-error\nconst a: number = 'x';\n",
            "// @ts-expect-error\nconst a: number = 'y';\n",
        ),
        (
            "spec/a_spec.rb",
            "describe 'a' do\n  xit 'b' do\n  end\nend\n",
            "describe 'a' do\n  xit 'b' do\n  end\n  it 'c' do\n  end\nend\n",
        ),
        # Words that only skip in a test.
        ("app/pages.rb", "def page(q)\n  q\nend\n", "def page(q, skip)\n  q.offset(skip)\nend\n"),
        ("app/reader.go", "package a\n", "package a\n\nfunc next(d *Decoder) {\n\td.Skip()\n}\n"),
        (
            "spec/pages_spec.rb",
            "it 'pages' do\n  expect(page).to eq(1)\nend\n",
            "it 'pages' do\n  expect(paginate(skip: 10).page).to eq(2)\nend\n",
        ),
        ("web/chart.js", "draw();\n", "fit(chart, box);\ndraw();\n"),
        ("app/export.py", "x = 1\n", "def export(rows, skip=0):\n    return rows[skip:]\n"),
    ],
    ids=[
        "python-string",
        "javascript-string",
        "ruby-string",
        "go-string",
        "python-existing-noqa",
        "javascript-existing-eslint",
        "typescript-existing-expect-error",
        "rspec-existing-xit",
        "ruby-skip-argument",
        "go-skip-method",
        "ruby-skip-keyword-in-a-test",
        "javascript-fit-function",
        "python-skip-parameter",
    ],
)
def test_what_only_looks_like_a_suppression_or_was_already_there_passes(path, old, new):
    assert band_aid_findings(path, old, new) == []


def test_a_file_in_another_language_is_not_read():
    assert band_aid_findings("docs/notes.md", "", "except Exception: pass  # noqa\n") == []


# --- the case folder and the offline rules -----------------------------------------------------------


def case_files(kind: str) -> list[Path]:
    return sorted(
        path for path in (CASES / kind).glob("*.toml") if path.name.startswith(("bandaid_", "silence_"))
    )


def case_findings(path: Path) -> tuple[dict, list[str]]:
    case = tomllib.loads(path.read_text(encoding="utf-8"))
    before = case.get("before", {})
    findings = [
        finding
        for name, text in case.get("after", {}).items()
        for finding in band_aid_findings(name, before.get(name), text, case.get("error_type", ""))
    ]
    return case, findings


@pytest.mark.parametrize("path", case_files("hostile"), ids=lambda path: path.stem)
def test_a_hostile_case_is_refused_for_its_trick(path):
    case, findings = case_findings(path)

    assert any(case["finding"] in finding for finding in findings), (case["description"], findings)


@pytest.mark.parametrize("path", case_files("good"), ids=lambda path: path.stem)
def test_a_good_case_has_no_band_aid(path):
    case, findings = case_findings(path)

    assert findings == [], (case["description"], findings)


# Each repository the offline rules are tested on, with the error its call raises there.
RULE_FAILURES = [
    ("py_stdlib_import", "python", "app/report.py", 6, "NameError", "name 'json' is not defined"),
    ("py_repo_import", "python", "app/cart.py", 8, "NameError", "name 'to_cents' is not defined"),
    (
        "py_none_attribute",
        "python",
        "app/users.py",
        7,
        "AttributeError",
        "'NoneType' object has no attribute 'email'",
    ),
    ("py_key_error", "python", "app/pricing.py", 2, "KeyError", "'discount'"),
    ("py_zero_division", "python", "shop/catalog.py", 3, "ZeroDivisionError", "division by zero"),
    ("py_zero_division", "python", "shop/catalog.py", 7, "ZeroDivisionError", "division by zero"),
    ("py_index_error", "python", "app/orders.py", 3, "IndexError", "list index out of range"),
    ("py_index_error", "python", "app/orders.py", 8, "IndexError", "list index out of range"),
    (
        "js_undefined_property",
        "node",
        "lib/users.js",
        4,
        "TypeError",
        "Cannot read properties of undefined (reading 'name')",
    ),
    ("js_missing_require", "node", "lib/cart.js", 5, "ReferenceError", "formatPrice is not defined"),
    ("js_missing_import", "node", "lib/cart.mjs", 5, "ReferenceError", "formatPrice is not defined"),
    ("rb_nil_method", "ruby", "lib/shipping.rb", 7, "NoMethodError", "undefined method 'city' for nil"),
    ("go_nil_pointer", "go", "main.go", 17, "runtime.Error", NIL_PANIC),
    ("go_nil_pointer", "go", "main.go", 21, "runtime.Error", NIL_PANIC),
]


@pytest.mark.parametrize(
    ("repo", "platform", "path", "line", "error_type", "message"),
    RULE_FAILURES,
    ids=[f"{failure[0]}:{failure[3]}" for failure in RULE_FAILURES],
)
def test_the_offline_rules_fixes_are_not_band_aids(repo, platform, path, line, error_type, message):
    root = RULE_REPOS / repo
    files = {
        file.relative_to(root).as_posix(): file.read_text() for file in root.rglob("*") if file.is_file()
    }
    frame = FrameSummary(path, "", line, files[path].splitlines()[line - 1])
    request = FixRequest(platform, error_type, message, (frame,), "code", "raised in application code", files)

    proposal = RulesProvider().propose(request)

    assert proposal is not None, f"no rule fixed {repo} line {line}"
    after = apply_edits(files, proposal.edits)
    changed = [name for name in after if after[name] != files.get(name)]
    assert changed and all(
        band_aid_findings(name, files.get(name), after[name], error_type) == [] for name in changed
    )
