"""Webhooks cannot be aimed inward (services/gateway/webhooks/targets.py): each refusal at
subscription time, a named 422, with loopback not allowed; and the same rules when a delivery
connects, against a real HTTP server on 127.0.0.1 — including a name that resolves elsewhere by
then (DNS rebinding). The DNS of a test is a dict: nothing here may depend on the machine's."""

import ipaddress
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.gateway.webhooks.queue import Claimed
from services.gateway.webhooks.sending import send
from services.gateway.webhooks.subscriptions import Endpoint
from services.gateway.webhooks.targets import GuardedClient, TargetGuard, TargetPolicy, host_allowed, refusal
from tests.unit.fakes_gateway import FakeGateway

SECRET = "webhook-secret-for-the-tests-0123"
PUBLIC = "192.0.32.10"  # a globally routable address (nothing connects to it here)


def dns(answers: dict[str, list[list[str]]]):
    """A resolver that gives each name its answers in turn (the last one from then on)."""
    asked: dict[str, int] = {}

    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            try:
                return [str(ipaddress.ip_address(host))]
            except ValueError:
                raise OSError("not resolved") from None
        turn = asked.get(host, 0)
        asked[host] = turn + 1
        return answers[host][min(turn, len(answers[host]) - 1)]

    return resolve


# ---- the rule for addresses (pure) -------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("0.0.0.0", "an unspecified address"),  # noqa: S104 (refused, not bound)
        ("::", "an unspecified address"),
        ("169.254.169.254", "a link-local address"),  # the cloud's metadata service
        ("fe80::1", "a link-local address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("10.0.0.1", "a private address"),
        ("172.16.5.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fd00::1", "a private address"),
        ("::ffff:10.0.0.1", "a private address"),
        ("2002:a00:1::", "a private address"),  # 6to4 of 10.0.0.1
        ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", "a private address"),  # Teredo of 8.8.8.8: refused as itself
        ("64:ff9b::a9fe:a9fe", "a link-local address"),  # NAT64 of 169.254.169.254
        ("100.64.0.1", "a reserved address"),  # shared address space (CGNAT)
        ("203.0.113.7", "a private address"),  # documentation
        ("240.0.0.1", "a private address"),
        (PUBLIC, None),
        ("2a00:1450:4001::1", None),
    ],
)
def test_each_kind_of_inward_address_is_refused(address, why):
    assert refusal(ipaddress.ip_address(address)) == why


def test_loopback_is_allowed_only_by_the_setting():
    assert refusal(ipaddress.ip_address("127.0.0.1"), allow_loopback=True) is None
    assert refusal(ipaddress.ip_address("::ffff:127.0.0.1"), allow_loopback=True) is None
    assert refusal(ipaddress.ip_address("10.0.0.1"), allow_loopback=True) == "a private address"


@given(st.ip_addresses())
def test_an_address_is_allowed_only_if_it_is_global_and_not_multicast(address):
    wrapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    allowed = refusal(address) is None
    if allowed:
        assert (wrapped or address).is_global and not (wrapped or address).is_multicast
    if not address.is_global or address.is_multicast:
        assert wrapped is not None or not allowed


def test_the_allow_list_takes_hosts_and_wildcards_below_a_domain():
    patterns = ("case.alingsas.se", "*.lerum.se")
    assert host_allowed("CASE.alingsas.se.", patterns)
    assert host_allowed("a.b.lerum.se", patterns)
    assert not host_allowed("lerum.se", patterns)
    assert not host_allowed("evil-lerum.se", patterns)
    assert not host_allowed("case.alingsas.se.evil.example", patterns)


# ---- at subscription time: a named 422 each -----------------------------------------------
@pytest.mark.parametrize(
    ("url", "slug"),
    [
        ("http://127.0.0.1:9/hooks", "webhook-address-refused"),
        ("http://localhost:9/hooks", "webhook-address-refused"),
        ("http://[::1]:9/hooks", "webhook-address-refused"),
        ("http://[::ffff:127.0.0.1]/hooks", "webhook-address-refused"),
        ("http://169.254.169.254/latest/meta-data/", "webhook-address-refused"),
        ("http://10.1.2.3/hooks", "webhook-address-refused"),
        ("http://224.0.0.1/hooks", "webhook-address-refused"),
        ("http://0.0.0.0:8001/hooks", "webhook-address-refused"),
        ("http://inward.test/hooks", "webhook-address-refused"),  # one of its addresses is private
        ("http://nothing.invalid/hooks", "webhook-host-unresolved"),
    ],
)
async def test_a_url_aimed_inward_is_refused_when_subscribing(url, slug):
    gateway = FakeGateway()
    resolver = dns({"localhost": [["127.0.0.1", "::1"]], "inward.test": [[PUBLIC, "10.0.0.8"]]})

    async with gateway.api(resolver=resolver, webhook_allow_loopback=False) as api:
        response = await api.post("/v1/subscriptions", json={"url": url, "secret": SECRET})

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == f"https://samordna.se/problems/{slug}"
    assert [e["field"] for e in response.json()["errors"]] == ["url"]
    assert "10.0.0.8" not in response.text  # what a name resolves to is not told
    assert gateway.subscriptions.subscriptions == {}


async def test_production_takes_only_https_to_a_host_on_the_principals_allow_list():
    gateway = FakeGateway()
    resolver = dns({"case.alingsas.example": [[PUBLIC]], "other.example": [[PUBLIC]]})
    allowed = {"kommun-1489": ["case.alingsas.example"], "kommun-1440": ["other.example"]}

    async with gateway.api("production", resolver=resolver, webhook_allowed_hosts=allowed) as api:
        insecure = await api.post("/v1/subscriptions", json={"url": "http://case.alingsas.example/", "secret": SECRET})
        other = await api.post("/v1/subscriptions", json={"url": "https://other.example/", "secret": SECRET})
        taken = await api.post("/v1/subscriptions", json={"url": "https://case.alingsas.example/", "secret": SECRET})

    assert insecure.status_code == 422
    assert insecure.json()["type"].endswith("/webhook-url-insecure")
    assert insecure.json()["detail"] == "must be an https URL in production"
    assert other.status_code == 422
    assert other.json()["type"].endswith("/webhook-host-not-allowed")
    assert taken.status_code == 201, taken.text


async def test_in_production_a_principal_without_an_allow_list_may_name_no_host():
    async with FakeGateway().api("production", resolver=dns({"case.example": [[PUBLIC]]})) as api:
        response = await api.post("/v1/subscriptions", json={"url": "https://case.example/", "secret": SECRET})

    assert response.json()["type"].endswith("/webhook-host-not-allowed")


# ---- at connect time, against a real server ----------------------------------------------
class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # a client that stops reading a long answer breaks the pipe: that is the point


class Server:
    """An HTTP server on 127.0.0.1 that counts the requests it got and answers `status`."""

    def __init__(self, status: int = 204, body: bytes = b"") -> None:
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                server.requests.append(dict(self.headers))
                self.send_response(status)
                self.send_header("Location", f"http://127.0.0.1:{self.server.server_address[1]}/elsewhere")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.http = QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.http.server_address[1]
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def server():
    servers: list[Server] = []

    def start(**kwargs) -> Server:
        servers.append(Server(**kwargs))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


async def deliver(guard: TargetGuard, url: str) -> str | None:
    endpoint = Endpoint(uuid.uuid4(), url, SECRET)
    claimed = Claimed(1, "event-1", 1, datetime.now(UTC), b'{"seq":1}')
    async with GuardedClient(guard) as http:
        return await send(http, endpoint, claimed, timeout=5)


def development(resolver, allow_loopback: bool) -> TargetGuard:
    return TargetGuard(TargetPolicy(https_only=False, allowed_hosts=None, allow_loopback=allow_loopback), resolver)


async def test_a_delivery_connects_to_the_address_it_checked_under_the_hosts_name(server):
    receiver = server()
    guard = development(dns({"receiver.test": [["127.0.0.1"]]}), allow_loopback=True)

    assert await deliver(guard, f"http://receiver.test:{receiver.port}/hooks") is None
    assert [r["Host"] for r in receiver.requests] == [f"receiver.test:{receiver.port}"]


async def test_a_delivery_to_loopback_is_refused_at_connect_time_without_the_setting(server):
    receiver = server()
    guard = development(dns({}), allow_loopback=False)

    assert await deliver(guard, f"http://127.0.0.1:{receiver.port}/hooks") == "refused: a loopback address"
    assert receiver.requests == []


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0x7f.0.0.1", "127.0.0.1."])
async def test_a_loopback_number_in_another_spelling_is_refused_when_delivering(server, host):
    # aiohttp hands a host of digits and dots to the system unresolved, which reads these as
    # 127.0.0.1: the guard must read them so too (with the system's resolver, as delivering does)
    receiver = server()
    guard = TargetGuard(TargetPolicy(https_only=False, allowed_hosts=None, allow_loopback=False))

    assert await deliver(guard, f"http://{host}:{receiver.port}/hooks") in {
        "refused: a loopback address",
        "host name not resolved",  # a spelling this system's resolver does not read at all
    }
    assert receiver.requests == []


async def test_such_a_spelling_reaches_loopback_when_it_is_allowed(server):
    # the control: the system does read it as loopback (aiohttp's URL parser refuses "127.1" and
    # "2130706433" by itself: "request failed (InvalidUrlClientError)")
    receiver = server()
    guard = TargetGuard(TargetPolicy(https_only=False, allowed_hosts=None, allow_loopback=True))

    assert await deliver(guard, f"http://0x7f.0.0.1:{receiver.port}/hooks") is None
    assert len(receiver.requests) == 1


async def test_a_name_that_resolves_inward_after_subscribing_is_refused_when_delivering(server):
    receiver = server()
    rebinding = dns({"rebind.test": [[PUBLIC], ["127.0.0.1"]]})
    guard = development(rebinding, allow_loopback=False)
    url = f"http://rebind.test:{receiver.port}/hooks"

    await guard.admit(url)  # public when the subscription is made
    assert await deliver(guard, url) == "refused: a loopback address"
    assert receiver.requests == []


async def test_a_host_taken_off_the_allow_list_is_refused_when_delivering(server):
    receiver = server()
    policy = TargetPolicy(https_only=False, allowed_hosts=("case.example",), allow_loopback=True)
    guard = TargetGuard(policy, dns({"receiver.test": [["127.0.0.1"]]}))

    assert await deliver(guard, f"http://receiver.test:{receiver.port}/") == "refused: a host not on the allow-list"
    assert receiver.requests == []


async def test_production_never_sends_over_http(server):
    receiver = server()
    policy = TargetPolicy(https_only=True, allowed_hosts=None, allow_loopback=True)

    error = await deliver(TargetGuard(policy, dns({})), f"http://127.0.0.1:{receiver.port}/")

    assert error == "refused: an http URL where only https is allowed"
    assert receiver.requests == []


async def test_a_redirect_is_not_followed_and_a_long_answer_is_not_read_to_its_end(server):
    redirecting = server(status=302)
    talkative = server(status=200, body=b"x" * 5_000_000)
    guard = development(dns({}), allow_loopback=True)

    assert await deliver(guard, f"http://127.0.0.1:{redirecting.port}/hooks") == "HTTP 302"
    assert len(redirecting.requests) == 1
    assert await deliver(guard, f"http://127.0.0.1:{talkative.port}/hooks") is None
