"""Copy-paste install snippets for each SDK, shown on a project's setup page.

Every SDK reads ``BUGSTACK_DSN`` from the environment, so the snippets keep the key out of source code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Snippet:
    slug: str
    title: str
    install: str
    code: str
    platform: str  # a Project.Platform value


SNIPPETS = (
    Snippet(
        "django",
        "Python · Django",
        "pip install 'bugstack-sdk[django]'",
        """# settings.py
import bugstack_sdk

bugstack_sdk.init()  # reads BUGSTACK_DSN

MIDDLEWARE = [
    "bugstack_sdk.django.BugstackMiddleware",
    # … your other middleware
]""",
        "python",
    ),
    Snippet(
        "flask",
        "Python · Flask",
        "pip install 'bugstack-sdk[flask]'",
        """import bugstack_sdk
from bugstack_sdk.flask import Bugstack
from flask import Flask

bugstack_sdk.init()  # reads BUGSTACK_DSN
app = Flask(__name__)
Bugstack(app)""",
        "python",
    ),
    Snippet(
        "express",
        "JavaScript · Express",
        "npm install @bugstack/sdk",
        """const bugstack = require("@bugstack/sdk");

bugstack.init(); // reads BUGSTACK_DSN
// … your routes
app.use(bugstack.expressErrorHandler()); // after the routes""",
        "node",
    ),
    Snippet(
        "nextjs",
        "JavaScript · Next.js",
        "npm install @bugstack/sdk",
        """// instrumentation.js
export async function register() {
  const bugstack = await import("@bugstack/sdk");
  bugstack.init(); // reads BUGSTACK_DSN
}

export { onRequestError } from "@bugstack/sdk/next";""",
        "node",
    ),
    Snippet(
        "rails",
        "Ruby · Rails / Rack",
        "# Gemfile (the gem is not published: use it from a bugstack checkout)\n"
        'gem "bugstack", path: "../bugstack/sdks/ruby", require: "bugstack/rails"',
        """# Rails: nothing more. The Railtie reads BUGSTACK_DSN and inserts the middleware.

# A Rack app without Rails, in config.ru:
require "bugstack"

Bugstack.init # reads BUGSTACK_DSN
use Bugstack::Rack::Middleware
run MyApp""",
        "ruby",
    ),
    Snippet(
        "go",
        "Go · net/http",
        "# go.mod (the module is not published: use it from a bugstack checkout)\n"
        "require bugstack.dev/sdk/go v0.0.0\n"
        "replace bugstack.dev/sdk/go => ../bugstack/sdks/go",
        """import bugstack "bugstack.dev/sdk/go"

func main() {
	if err := bugstack.Init(bugstack.Options{}); err != nil { // reads BUGSTACK_DSN
		log.Fatal(err)
	}
	defer bugstack.Close(2 * time.Second) // sends what is queued

	mux := http.NewServeMux()
	// … your routes
	log.Fatal(http.ListenAndServe(":8080", bugstack.Middleware(mux)))
}""",
        "go",
    ),
)
