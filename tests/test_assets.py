"""The client's files: gzipped for a browser that accepts it, as they are for one that does
not, never stale after an edit, and nothing outside the static folder."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from e2e.harness.app_process import AppProcess
from e2e.harness.wire import WireClient
from staffsync.assets import add_routes
from staffsync.inline import Uninlinable, bundle, shell

VENDOR_DOM = "/static/vendor/react-dom-18.3.1.production.min.js"
STATIC = Path(__file__).resolve().parents[1] / "staffsync" / "static"


def fetch(url: str, encoding: str | None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": encoding or "identity"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), b""


def test_a_library_should_be_sent_gzipped_to_a_browser_that_accepts_it(app: AppProcess) -> None:
    on_disk = (STATIC / VENDOR_DOM.removeprefix("/static/")).read_bytes()
    status, headers, body = fetch(app.base_url + VENDOR_DOM, "gzip, deflate, br")
    assert (status, headers.get("Content-Encoding")) == (200, "gzip"), (status, headers)
    assert gzip.decompress(body) == on_disk
    assert len(body) < len(on_disk) / 2, f"{len(body)} bytes gzipped of {len(on_disk)}"
    status, headers, body = fetch(app.base_url + VENDOR_DOM, None)
    assert (status, headers.get("Content-Encoding"), body) == (200, None, on_disk)


@pytest.mark.parametrize("path", ["/static/../app.py", "/static/%2e%2e/app.py", "/static/js"])
def test_nothing_outside_the_static_files_should_be_served(app: AppProcess, path: str) -> None:
    status, _, body = fetch(app.base_url + path, "gzip")
    assert (status, body) == (404, b""), (status, body[:80])


def test_an_edited_file_should_be_served_as_it_is_now(tmp_path: Path) -> None:
    # a loop of its own, in a thread of its own: a worker that ran a Playwright test before
    # this one has the sync API's loop running in its main thread
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, edited_file(tmp_path)).result(timeout=60)


async def edited_file(tmp_path: Path) -> None:
    served = tmp_path / "app.js"
    served.write_text("// first\n" * 200, encoding="utf-8")
    application = web.Application()
    add_routes(application, tmp_path)
    async with TestClient(TestServer(application)) as client:
        first = await client.get("/static/app.js")
        assert (await first.text()).startswith("// first")
        etag = first.headers["ETag"]
        again = await client.get("/static/app.js", headers={"If-None-Match": etag})
        assert again.status == 304
        served.write_text("// second\n" * 300, encoding="utf-8")
        edited = await client.get("/static/app.js", headers={"If-None-Match": etag})
        assert edited.status == 200
        assert (await edited.text()).startswith("// second")


def test_the_page_should_carry_the_configuration_it_would_fetch(app: AppProcess) -> None:
    _, _, page = fetch(app.base_url + "/", None)
    found = re.search(
        rb'<script type="application/json" id="staffsync-config">(.*?)</script>', page
    )
    assert found, page[:300]
    _, _, served = fetch(app.base_url + "/config.json", None)
    assert json.loads(found.group(1)) == json.loads(served)
    assert b"<" not in found.group(1)


@pytest.mark.parametrize(
    ("client", "stylesheet"), [("vanilla", "style.css"), ("react", "react/style.css")]
)
def test_the_page_should_hold_its_stylesheet(
    start_app: Callable[..., AppProcess], client: str, stylesheet: str
) -> None:
    """Fetched, a stylesheet comes a round trip after the page and holds its first paint."""
    app = start_app(client=client)
    _, _, page = fetch(app.base_url + "/", None)
    styles = re.findall(rb"<style>\n(.*?)</style>", page, re.S)
    assert styles == [(STATIC / stylesheet).read_bytes()], page[:600]
    assert b'rel="stylesheet"' not in page, page[:600]


@pytest.mark.parametrize("client", ["vanilla", "react"])
def test_the_page_should_hold_its_modules(
    start_app: Callable[..., AppProcess], client: str
) -> None:
    """Fetched, the modules came three round trips after the page; held, none."""
    app = start_app(client=client)
    _, _, page = fetch(app.base_url + "/", None)
    scripts = re.findall(rb'<script type="module"( src="[^"]*")?>', page)
    assert scripts == [b""], scripts
    assert b"modulepreload" not in page, page[:600]
    assert page.rindex(b'<script type="module">') > page.index(b'id="staffsync-config"')


def _module(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def test_modules_should_be_held_each_once_after_what_they_import(tmp_path: Path) -> None:
    _module(tmp_path, "ids.js", "export function newId() { return 1; }\n")
    _module(tmp_path, "a.js", 'import { newId } from "./ids.js";\nexport const a = newId();\n')
    _module(
        tmp_path,
        "main.js",
        'import { a } from "./a.js";\nimport { newId } from "./ids.js";\nlog(a, newId());\n',
    )
    text = bundle(tmp_path, "main.js")
    assert [line for line in text.splitlines() if line.startswith("// ")] == [
        f"// {tmp_path.name}/ids.js",
        f"// {tmp_path.name}/a.js",
        f"// {tmp_path.name}/main.js",
    ]
    assert "import" not in text and "export" not in text, text


def test_an_edited_module_should_be_held_as_it_is_now(tmp_path: Path) -> None:
    """The page's shell is built once per version of its files, not once for good."""
    (tmp_path / "js").mkdir()
    page = tmp_path / "index.html"
    page.write_text('<script type="module" src="/static/js/main.js"></script></body>\n')
    _module(tmp_path / "js", "main.js", "const shown = 1;\n")
    assert "shown = 1;" in shell(page, tmp_path)
    _module(tmp_path / "js", "main.js", "const shown = 22;\n")
    assert "shown = 22;" in shell(page, tmp_path)


@pytest.mark.parametrize(
    ("modules", "says"),
    [
        ({"main.js": 'import x from "./x.js";\n', "x.js": ""}, "'import' cannot be inlined"),
        ({"main.js": "export default 1;\n"}, "'export' cannot be inlined"),
        ({"main.js": 'const m = await import("./x.js");\n'}, "'import(' cannot be inlined"),
        (
            {
                "main.js": 'import { f } from "./x.js";\nfunction f() {}\n',
                "x.js": "export function f() {}\n",
            },
            "both declare 'f'",
        ),
        (
            {
                "main.js": 'import { b } from "./b.js";\n',
                "b.js": 'import { m } from "./main.js";\n',
            },
            "modules import each other",
        ),
        ({"main.js": 'const s = "</script>";\n'}, "would end the page's script"),
    ],
)
def test_a_module_the_page_cannot_hold_should_be_refused_by_name(
    tmp_path: Path, modules: dict[str, str], says: str
) -> None:
    for name, text in modules.items():
        _module(tmp_path, name, text)
    with pytest.raises(Uninlinable, match=re.escape(says)):
        bundle(tmp_path, "main.js")


SNAPSHOT = rb'<script type="application/json" id="staffsync-snapshot">(.*?)</script>'


def test_the_page_should_carry_every_periods_staff_as_the_socket_gives_them(
    connect: Callable[..., WireClient], app: AppProcess
) -> None:
    client = connect()
    markup = "</script><b>Shown as text</b><!--"
    client.create({"name": markup, "position": "Host", "startPeriod": "2026-06-01"})
    _, _, page = fetch(app.base_url + "/", None)
    found = re.search(SNAPSHOT, page)
    assert found, page[:300]
    assert b"<" not in found.group(1)
    frame = json.loads(found.group(1))
    assert frame["type"] == "SYNC_ALL_PERIODS_RESPONSE"
    carried = {int(k): sorted(r["id"] for r in v) for k, v in frame["payload"]["periods"].items()}
    socket = {k: sorted(r["id"] for r in v) for k, v in client.all_periods().items()}
    assert carried == socket
    names = {r["name"] for rows in frame["payload"]["periods"].values() for r in rows}
    assert markup in names


def test_the_page_should_be_sent_compressed_to_a_browser_that_accepts_it(app: AppProcess) -> None:
    """The page carries every period's staff: over a phone's link its bytes are its load."""
    _, _, plain = fetch(app.base_url + "/", None)
    status, headers, body = fetch(app.base_url + "/", "gzip, deflate, br")
    coding = headers.get("Content-Encoding")
    assert status == 200 and coding in ("gzip", "deflate"), (status, headers)
    page = zlib.decompress(body, 32 + zlib.MAX_WBITS)  # either header
    assert re.search(SNAPSHOT, page), page[:300]  # the same page (its frame's time aside)
    assert abs(len(page) - len(plain)) < 100, f"{len(page)} bytes, {len(plain)} sent plain"
    assert len(body) < len(plain) / 4, f"{len(body)} bytes {coding} of {len(plain)}"


def test_a_legacy_page_should_carry_no_staff(app: AppProcess) -> None:
    _, _, page = fetch(app.base_url + "/?mode=legacy", None)
    assert re.search(SNAPSHOT, page) is None, page[:300]


APPLIED = rb'<script type="application/json" id="staffsync-applied">(.*?)</script>'


def applied_for(app: AppProcess, cookie: str) -> list[str]:
    request = urllib.request.Request(app.base_url + "/", headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=10) as response:
        page = response.read()
    found = re.search(APPLIED, page)
    assert found, page[:300]
    applied: list[str] = json.loads(found.group(1))["applied"]
    return applied


def test_the_page_should_say_which_of_its_stored_writes_the_server_applied(
    connect: Callable[..., WireClient], app: AppProcess
) -> None:
    """A page's outbox names its unconfirmed writes in a cookie; the page comes with those
    the server applied (their answers lost), under the name that sent them, and no other."""
    client = connect()
    client.name = "page-assets-test"
    staff_id = client.all_periods()[0][0]["id"]
    rid = client.send("STAFF_UPDATE", {"staffId": staff_id, "changes": {"position": "Host"}})
    answer = client.recv_until(
        lambda f: f.get("requestId") == rid or f.get("payload", {}).get("requestId") == rid,
        expected=f"the answer to STAFF_UPDATE {rid}",
    )
    assert answer["type"] == "STAFF_UPDATE", answer
    pairs = [[client.name, rid], [client.name, "r-never-sent"], ["page-someone-else", rid]]
    named = "staffsync-sent=" + urllib.parse.quote(json.dumps(pairs))
    assert applied_for(app, named) == [rid]


@pytest.mark.parametrize(
    "cookie",
    ["", "staffsync-sent=%7Bnot%20json", "staffsync-sent=%7B%7D", "staffsync-sent=%5B1%5D"],
)
def test_a_page_should_load_whatever_its_outbox_cookie_holds(app: AppProcess, cookie: str) -> None:
    assert applied_for(app, cookie) == []
