"""The conditions: profiles combine as documented, and the relay gives every WebSocket frame
and every page load a profile's round trip (a page measures them, in front of an app the
suite started and in front of a separately started one reached by its host name, as a
--base-url deployment is), while `lab` adds nothing."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from e2e.conditions.cpu import BUSY, Throttle, calibrate
from e2e.conditions.profiles import Conditions, Network, UnknownConditions, parse
from e2e.conditions.relay import Relay
from e2e.conditions.room import Room
from e2e.harness.app_process import AppProcess
from e2e.harness.browser import QUIET_FLAGS
from e2e.harness.wire import WireClient
from tests.conftest import AppFactory

SHAPED = ("desktop", "mobile-4g", "mobile-flaky")
PINGS = 16  # round trips a page times (8 where one takes over 200 ms: the relay's jitter
# is seeded, so its draws, and their median, are the same in every run)
WARM = 3  # the first round trips of a socket warm the page's code up: not judged
TOLERANCE = 0.10
HOST = "staffsync.test"  # a deployment's name: only the resolver rules know where it is

# In the page: `n` PING/PONG round trips on a socket of its own, one after the other (ms).
ROUND_TRIPS = """async ([url, n]) => {
  const ws = new WebSocket(url);
  const frames = [];
  let waiting = null;
  ws.onmessage = (e) => { frames.push(JSON.parse(e.data)); if (waiting) waiting(); };
  const next = (type) => new Promise((resolve) => {
    const look = () => { const i = frames.findIndex((f) => f.type === type);
      if (i >= 0) { waiting = null; resolve(frames.splice(i, 1)[0]); } else waiting = look; };
    look();
  });
  await next("CONNECTION_ACK");
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    ws.send(JSON.stringify({type: "PING", requestId: "p" + i, payload: {timestamp: t}}));
    await next("PONG");
    times.push(performance.now() - t);
  }
  ws.close();
  return times;
}"""
# The document's fetch on a fresh connection: from the request's start to its last byte.
DOCUMENT = """() => { const n = performance.getEntriesByType("navigation")[0];
  return {ms: n.responseEnd - n.fetchStart, bytes: n.transferSize,
    request: n.requestStart - n.fetchStart, first_byte: n.responseStart - n.fetchStart}; }"""


def profile(name: str) -> Conditions:
    return parse(name)[0]


def test_profiles_should_combine_when_they_set_different_things() -> None:
    both = profile("mobile-4g,tokyo")
    assert (both.network, both.cpu, both.timezone, both.locale) == (
        Network(rtt_ms=150, down_kbps=1600, up_kbps=750),
        4,
        "Asia/Tokyo",
        "ja-JP",
    )
    assert both.tags() == {"conditions": "mobile-4g,tokyo"}
    assert profile("hosted-db").db_latency_ms == 30
    assert profile("hosted-db").staff_factor == 10
    assert len(parse("matrix")) > 3


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("mobile-4g,mobile-flaky", "both set cpu, device, network"),
        ("tokyo,honolulu", "both set locale, timezone"),
        ("mars", "unknown conditions 'mars'"),
    ],
)
def test_profiles_should_refuse_what_is_not_one_condition(raw: str, says: str) -> None:
    with pytest.raises(UnknownConditions, match=says):
        parse(raw)


def test_lab_should_put_nothing_between_the_browser_and_the_app() -> None:
    room = Room(profile("lab"), deployment="https://staging.example")
    assert room.front("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert room.launch_args() == []
    assert room.relays == {}


def test_a_shaped_deployment_should_be_sent_to_a_relay_by_its_host_name() -> None:
    room = Room(profile("mobile-4g"), deployment="https://staging.example")
    try:
        (rule,) = room.launch_args()
        (relay,) = room.relays.values()
        assert rule == f"--host-resolver-rules=MAP staging.example 127.0.0.1:{relay.port}"
        assert relay.upstream == ("staging.example", 443)
    finally:
        room.close()


# -- through a real browser ---------------------------------------------------------------
@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    folder = tmp_path_factory.mktemp("conditions-app")
    app = AppProcess(data_dir=folder / "data", log_path=folder / "app.log")
    app.start()
    yield app
    app.stop()


@dataclass(frozen=True)
class Loopback:
    """What a page takes with nothing between it and the app: the figures a relay adds to."""

    round_trip_ms: float  # median WebSocket round trip
    load_ms: float  # median document fetch on a fresh connection


def _baseline(browser: Browser, url: str) -> Loopback:
    """Three fresh contexts of `browser` reach the app at `url` directly."""
    trips, loads = [], []
    for _ in range(3):
        context = browser.new_context()
        try:
            times, document = _measure(context.new_page(), url)
        finally:
            context.close()
        trips += times[WARM:]
        loads.append(document["ms"])
    return Loopback(statistics.median(trips), statistics.median(loads))


@pytest.fixture(scope="module")
def loopback(chromium: Browser, served: AppProcess) -> Loopback:
    return _baseline(chromium, served.base_url)


def _relay(app: AppProcess, network: Network) -> Relay:
    relay = Relay((app.host, app.port), network, seed=7)
    relay.start()
    return relay


def _measure(page: Page, url: str, rtt_ms: float = 0) -> tuple[list[float], dict[str, float]]:
    page.goto(url + "/health")  # a page load on a fresh connection (no keep-alive yet)
    document = page.evaluate(DOCUMENT)
    ws = url.replace("http", "ws", 1) + "/staff-sync?period=0"
    return page.evaluate(ROUND_TRIPS, [ws, pings(rtt_ms)]), document


def _loads(
    new_context: Callable[[], BrowserContext], url: str, first: dict[str, float]
) -> dict[str, float]:
    """The median of `first` and two more page loads, each on a fresh connection of a
    fresh context (one load's few ms of the machine's own are not the network's)."""
    loads = [first]
    for _ in range(2):
        context = new_context()
        try:
            page = context.new_page()
            page.goto(url + "/health")
            loads.append(page.evaluate(DOCUMENT))
        finally:
            context.close()
    return sorted(loads, key=lambda d: d["ms"])[1]


def pings(rtt_ms: float) -> int:
    return PINGS if rtt_ms <= 200 else PINGS // 2


def _judge(name: str, times: list[float], document: dict[str, float], loopback: Loopback) -> None:
    """The relay adds the profile's figures to what loopback takes (measured on the same
    app, so that the browser's and the server's own time is not counted as the network's)."""
    n = profile(name).network
    assert n is not None
    added = statistics.median(times[WARM:]) - loopback.round_trip_ms
    assert abs(added - n.rtt_ms) <= TOLERANCE * n.rtt_ms, (
        f"{name}: a WebSocket round trip took {added:.1f} ms more than on loopback"
        f" ({loopback.round_trip_ms:.1f} ms; median over {len(times) - WARM}), expected"
        f" {n.rtt_ms:g} ms +- {TOLERANCE:.0%} (all: {[round(t) for t in times]})"
    )
    # a fresh connection pays the handshake's round trip, then the request's, then the
    # bytes at the down link's rate; jitter may move each way by half the spread. Chromium
    # can open the connection before the navigation's fetchStart, and the part of the
    # handshake's round trip paid by then is not in the page's figure (desktop's 60 ms was
    # seen at 47-49 ms in 2 of 3 runs here): from one round trip to two.
    transfer = document["bytes"] * 8 / (n.down_kbps or float("inf"))
    shortest, longest = n.rtt_ms + transfer, 2 * n.rtt_ms + transfer
    slack = TOLERANCE * longest + n.jitter_ms
    added = document["ms"] - loopback.load_ms
    assert shortest - slack <= added <= longest + slack, (
        f"{name}: a page load of {document['bytes']:.0f} bytes took {added:.0f} ms more than"
        f" on loopback ({loopback.load_ms:.0f} ms), expected {shortest:.0f}-{longest:.0f} ms"
        f" +- {slack:.0f} (request sent at {document['request']:.0f} ms, first byte at"
        f" {document['first_byte']:.0f} ms)"
    )


@pytest.mark.alone  # times the network: by itself, after the other tests
@pytest.mark.parametrize("name", SHAPED)
def test_relay_in_front_of_an_app_should_give_the_profiles_round_trip(
    chromium: Browser, served: AppProcess, loopback: Loopback, name: str
) -> None:
    n = profile(name).network
    assert n is not None
    relay = _relay(served, replace(n, stall_every_s=None))  # stalls: their own test below
    context = chromium.new_context()
    url = f"http://127.0.0.1:{relay.port}"
    try:
        times, document = _measure(context.new_page(), url, n.rtt_ms)
        document = _loads(chromium.new_context, url, document)
    finally:
        context.close()
        relay.stop()
    _judge(name, times, document, loopback)


@pytest.mark.alone  # times the network: by itself, after the other tests
@pytest.mark.parametrize("name", SHAPED)
def test_relay_in_front_of_a_deployment_should_give_the_profiles_round_trip(
    chromium: Browser,
    chromium_executable: str | None,
    start_app: AppFactory,
    name: str,
) -> None:
    """A separately started app, reached by a host name as a --base-url deployment is:
    Chromium's resolver rules send the name to the relay, the URL and Host unchanged. The
    baseline is taken in the same browser on the same app, reached directly: a browser just
    launched and an app just started pay their first requests' costs there (a first page
    load here was seen 35 ms slower than the shared browser's on the warmed app), not in
    the figure judged."""
    n = profile(name).network
    assert n is not None
    app = start_app()
    relay = _relay(app, replace(n, stall_every_s=None))
    browser = chromium.browser_type.launch(
        executable_path=chromium_executable,
        args=[*QUIET_FLAGS, f"--host-resolver-rules=MAP {HOST} 127.0.0.1:{relay.port}"],
    )
    try:
        loopback = _baseline(browser, app.base_url)
        page = browser.new_page()
        times, document = _measure(page, f"http://{HOST}:{app.port}", n.rtt_ms)
        host = page.evaluate("() => location.host")
        document = _loads(browser.new_context, f"http://{HOST}:{app.port}", document)
    finally:
        browser.close()
        relay.stop()
    assert host == f"{HOST}:{app.port}", f"the page's URL was changed: {host}"
    assert relay.connections >= 2, f"only {relay.connections} connection(s) went through the relay"
    _judge(name, times, document, loopback)


@pytest.mark.alone  # times the network: by itself, after the other tests
def test_lab_should_add_nothing_measurable_to_a_round_trip(loopback: Loopback) -> None:
    """Under `lab` pages reach the app directly (no relay: see the Room test above), and
    a round trip there takes what loopback takes."""
    assert loopback.round_trip_ms < 5, (
        f"on loopback a round trip's median was {loopback.round_trip_ms:.1f} ms"
    )


@pytest.mark.alone  # times the network: by itself, after the other tests
def test_stalls_should_hold_every_frame_until_they_end_and_keep_their_order(
    served: AppProcess,
) -> None:
    """A train's tunnel: nothing passes while the link stalls; what was sent meanwhile
    arrives when it ends, in the order it was sent."""
    relay = _relay(served, Network(rtt_ms=40, stall_every_s=1.0, stall_s=(0.6, 0.6)))
    sent: list[str] = []
    answered: list[tuple[str, float]] = []
    try:
        with WireClient(f"ws://127.0.0.1:{relay.port}/staff-sync?period=0") as client:
            started = time.monotonic()
            while time.monotonic() - started < 3.0:
                rid = f"p{len(sent)}"
                sent.append(rid)
                asked = time.monotonic()
                client.send("PING", {"timestamp": asked}, request_id=rid)
                pong = client.recv_until(lambda f: f["type"] == "PONG", expected="a PONG")
                answered.append((str(pong.get("requestId")), time.monotonic() - asked))
    finally:
        relay.stop()
    held = [round(s * 1000) for _, s in answered if s > 0.3]
    assert [rid for rid, _ in answered] == sent, "the PONGs came back out of order"
    assert held, f"no round trip met a stall in 3 s: {[round(s * 1000) for _, s in answered]}"
    assert max(held) <= 700, f"a round trip was held longer than its stall: {held} ms"


@pytest.mark.alone  # times the network: by itself, after the other tests
def test_held_time_should_be_the_stalls_a_round_trip_met(served: AppProcess) -> None:
    """The room tells how long its link stalled between two moments of the pages' epoch
    clock: a round trip held by a stall, less that time, is the link's own round trip."""
    network = Network(rtt_ms=40, stall_every_s=1.0, stall_s=(0.6, 0.6))
    room = Room(Conditions(name="tunnel", network=network), seed=7)
    url = room.front(served.base_url).replace("http", "ws", 1)
    net: list[tuple[float, float]] = []  # (round trip, held) in ms
    try:
        with WireClient(f"{url}/staff-sync?period=0") as client:
            started = time.monotonic()
            while time.monotonic() - started < 3.0:
                asked = time.time() * 1000
                client.send("PING", {"timestamp": asked}, request_id=f"p{len(net)}")
                client.recv_until(lambda f: f["type"] == "PONG", expected="a PONG")
                answered = time.time() * 1000
                net.append((answered - asked, room.held_ms(asked, answered)))
    finally:
        room.close()
    held = [(round(rtt), round(h)) for rtt, h in net if rtt > 300]
    assert held, f"no round trip met a stall in 3 s: {[round(rtt) for rtt, _ in net]}"
    beyond = [rtt - h for rtt, h in held]
    assert all(0 <= b <= 40 + 30 for b in beyond), (
        f"round trips held by a stall (ms, held ms) {held}: beyond the stall {beyond},"
        " expected the link's 40 ms at most (plus 30 ms)"
    )
    unheld = [round(h) for rtt, h in net if rtt < 100]
    assert not any(unheld), f"round trips no stall met counted as held: {unheld} ms"


@pytest.mark.alone  # times the network: by itself, after the other tests
def test_a_round_trip_set_should_hold_from_the_next_frame_on(served: AppProcess) -> None:
    """The exploration draws a round trip per step from the profile's range."""
    relay = _relay(served, Network(rtt_ms=40))
    seen: dict[int, list[float]] = {}
    try:
        with WireClient(f"ws://127.0.0.1:{relay.port}/staff-sync?period=0") as client:
            for rtt in (40, 160, 40):
                relay.set_rtt(rtt)
                for i in range(5):
                    asked = time.monotonic()
                    client.send("PING", {"timestamp": asked}, request_id=f"r{rtt}-{i}")
                    client.recv_until(lambda f: f["type"] == "PONG", expected="a PONG")
                    seen.setdefault(rtt, []).append((time.monotonic() - asked) * 1000)
    finally:
        relay.stop()
    medians = {rtt: statistics.median(ms) for rtt, ms in seen.items()}
    assert all(rtt <= m <= rtt * 1.1 + 5 for rtt, m in medians.items()), (
        f"round trips set (ms) -> their median over 5 PINGs: {medians}"
    )


def test_a_spreading_link_should_give_its_range_of_round_trips() -> None:
    flaky = parse("mobile-flaky")[0].network
    assert flaky is not None and flaky.rtt_range() == (300, 900), flaky
    steady = parse("mobile-4g")[0].network
    assert steady is not None and steady.rtt_range() is None, steady


def _busy_ms(page: Page) -> float:
    for _ in range(3):  # compiled and optimised before it is timed
        page.evaluate(BUSY)
    return min(float(page.evaluate(BUSY)[0]) for _ in range(6))


@pytest.mark.alone  # times the CPU: beside two other workers a throttled page waits longer
def test_cpu_throttle_should_slow_a_page_by_the_profiles_factor(chromium: Browser) -> None:
    calibration = calibrate(chromium, 4)
    assert 2 <= calibration.rate <= 8, f"a 4x profile calibrated to rate {calibration.rate}"
    plain = chromium.new_context()
    throttled = chromium.new_context()
    try:
        Throttle(calibration).apply(throttled)
        base = _busy_ms(plain.new_page())
        slow = _busy_ms(throttled.new_page())
    finally:
        plain.close()
        throttled.close()
    slowdown = slow / base
    assert 4 * 0.7 <= slowdown <= 4 * 1.3, (
        f"expected a page about 4x slower under a 4x profile ({calibration.describe()});"
        f" the busy loop took {base:.1f} ms plain and {slow:.1f} ms throttled: {slowdown:.2f}x"
    )
