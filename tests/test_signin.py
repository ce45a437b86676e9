"""Sign-in throttling (docs/settings.md, "Sign-in throttling"): the client's address behind trusted proxies,
limits that slow an attacker without locking the owner out, and a check-and-count that parallel attempts
cannot overrun; and the Secure cookies of `umbrella serve`."""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.utils import timezone

from umbrella import config
from umbrella.core.errors import Throttled
from umbrella.core.testing import PERSONA_PASSWORD
from umbrella.orgs import throttle

PROXY = "10.0.0.1"
ATTACKER = "198.51.100.66"
OWNER = "203.0.113.10"
WRONG = "not-the-password"


def sign_in(client, username: str, password: str, address: str, forwarded_for: str | None = None):
    extra = {"REMOTE_ADDR": address}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    response = client.post("/sign-in/", {"username": username, "password": password}, **extra)
    signed_in = response.status_code == 302
    client.logout()
    return signed_in, response.content.decode()


def networks(entries: str):
    return tuple(ipaddress.ip_network(entry.strip()) for entry in entries.split(","))


def fail_many(client, count: int, address: str, forwarded_for: str | None = None, username: str = "alice") -> None:
    for _ in range(count):
        signed_in, _ = sign_in(client, username, WRONG, address, forwarded_for)
        assert not signed_in


@pytest.mark.django_db
def test_a_forwarded_for_header_from_an_untrusted_peer_is_ignored(personas, client, settings):
    settings.TRUSTED_PROXIES = networks(PROXY)
    for number in range(throttle.PER_ADDRESS):  # a new forged address each time, against a new user name
        signed_in, _ = sign_in(client, f"guess{number}", WRONG, ATTACKER, forwarded_for=f"192.0.2.{number}")
        assert not signed_in
    signed_in, page = sign_in(client, "bob", PERSONA_PASSWORD, ATTACKER, forwarded_for="192.0.2.200")
    assert not signed_in and "Too many failed sign-ins" in page


@pytest.mark.django_db
def test_behind_a_trusted_proxy_one_clients_failures_do_not_lock_out_another(personas, client, settings):
    settings.TRUSTED_PROXIES = networks(f"{PROXY}/32")
    for number in range(throttle.PER_ADDRESS):  # whatever the client forges left of the proxy's own entry
        signed_in, _ = sign_in(client, f"guess{number}", WRONG, PROXY, forwarded_for=f"192.0.2.{number}, {ATTACKER}")
        assert not signed_in
    assert "Too many failed sign-ins" in sign_in(client, "bob", PERSONA_PASSWORD, PROXY, forwarded_for=ATTACKER)[1]
    assert sign_in(client, "bob", PERSONA_PASSWORD, PROXY, forwarded_for=OWNER)[0]


def test_the_client_address_is_the_right_most_hop_that_is_not_a_trusted_proxy(rf, settings):
    settings.TRUSTED_PROXIES = networks("10.0.0.0/8, ::1")

    def address(peer: str, forwarded: str | None) -> str:
        from umbrella.web.auth import client_address

        headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
        return client_address(rf.get("/", REMOTE_ADDR=peer, **headers))

    assert address(ATTACKER, "10.0.0.9") == ATTACKER  # the header of an untrusted peer says nothing
    assert address("10.0.0.1", f"{ATTACKER}, {OWNER}, 10.0.0.2") == OWNER  # two proxies in a row
    assert address("::1", f"10.0.0.3, {OWNER}") == OWNER
    assert address("::ffff:10.0.0.1", "2001:DB8::0:1") == "2001:db8::1"
    assert address("10.0.0.1", None) == "10.0.0.1"  # the proxy itself, with nothing to forward
    assert address("10.0.0.1", "10.0.0.7") == "10.0.0.7"  # all trusted: the left-most is the client


def test_a_trusted_proxy_setting_that_is_not_an_address_is_refused_naming_every_bad_entry(monkeypatch):
    monkeypatch.setenv("UMBRELLA_TRUSTED_PROXIES", "10.0.0.1, proxy.example.org, 10.0.0.0/33")
    with pytest.raises(config.ConfigurationError, match="proxy.example.org, 10.0.0.0/33"):
        config.networks("UMBRELLA_TRUSTED_PROXIES")
    monkeypatch.delenv("UMBRELLA_TRUSTED_PROXIES")
    assert config.networks("UMBRELLA_TRUSTED_PROXIES") == ()  # trusting nobody is the default


@pytest.mark.django_db
def test_failures_from_an_attackers_address_do_not_stop_the_owner_signing_in_from_another(personas, client):
    fail_many(client, throttle.PER_PAIR, ATTACKER)
    signed_in, page = sign_in(client, "alice", PERSONA_PASSWORD, ATTACKER)
    assert not signed_in and "Too many failed sign-ins" in page  # the attacker's pair waits
    assert sign_in(client, "alice", PERSONA_PASSWORD, OWNER)[0]


@pytest.mark.django_db
def test_failures_from_many_addresses_slow_an_account_but_not_its_owner_where_they_signed_in_before(personas, client):
    assert sign_in(client, "alice", PERSONA_PASSWORD, OWNER)[0]
    for number in range(throttle.ACCOUNT_FREE):
        fail_many(client, 1, f"192.0.2.{number}")
    signed_in, page = sign_in(client, "alice", WRONG, "192.0.2.250")
    assert not signed_in and "from other places" in page  # from a new address, the account now waits
    assert sign_in(client, "alice", PERSONA_PASSWORD, OWNER)[0]


@pytest.mark.django_db
def test_a_busy_shared_address_still_lets_in_those_who_signed_in_from_it_before(personas, client):
    assert sign_in(client, "bob", PERSONA_PASSWORD, OWNER)[0]
    for number in range(throttle.PER_ADDRESS):
        fail_many(client, 1, OWNER, username=f"guess{number}")
    assert "Too many failed sign-ins" in sign_in(client, "rita", PERSONA_PASSWORD, OWNER)[1]
    assert sign_in(client, "bob", PERSONA_PASSWORD, OWNER)[0]


@pytest.mark.django_db
def test_the_wait_of_an_account_doubles_from_one_second_up_to_the_window(personas):
    start = timezone.now()
    for number in range(throttle.ACCOUNT_FREE):
        throttle.finish(throttle.reserve("alice", f"192.0.2.{number}", now=start), succeeded=False, now=start)
    latest = start
    for failures, expected in ((10, 1), (11, 2), (12, 4), (13, 8)):
        assert throttle.account_delay(failures) == dt.timedelta(seconds=expected)
        with pytest.raises(Throttled, match="account"):
            throttle.reserve("alice", "192.0.2.200", now=latest + dt.timedelta(seconds=expected) - dt.timedelta(milliseconds=1))
        latest += dt.timedelta(seconds=expected)
        throttle.finish(throttle.reserve("alice", "192.0.2.200", now=latest), succeeded=False, now=latest)
    assert throttle.account_delay(40) == throttle.WINDOW


@pytest.mark.django_db
def test_a_success_clears_its_pairs_failures_but_leaves_a_parallel_check_to_finish(personas):
    from umbrella.orgs.models import SignInAttempt

    throttle.finish(throttle.reserve("alice", OWNER), succeeded=False)
    succeeding, running = throttle.reserve("alice", OWNER), throttle.reserve("alice", OWNER)
    throttle.finish(succeeding, succeeded=True)
    throttle.finish(running, succeeded=False)
    outcomes = SignInAttempt.objects.filter(username="alice", address=OWNER).order_by("pk").values_list("outcome", flat=True)
    assert list(outcomes) == ["succeeded", "failed"]


class CountingHasher(MD5PasswordHasher):
    """The test settings' hasher, counting every password it hashes: one per check of a password (verify
    hashes the guess), and the dummy hash Django computes for a user name that does not exist."""

    checks = 0
    lock = threading.Lock()

    @classmethod
    def count(cls) -> None:
        with cls.lock:
            cls.checks += 1

    def encode(self, password, salt):
        self.count()
        return super().encode(password, salt)


PARALLEL = 40


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("usernames", "limit"),
    [
        (["alice"] * PARALLEL, throttle.PER_PAIR),
        ([f"nobody{number}" for number in range(PARALLEL)], throttle.PER_ADDRESS),
    ],
    ids=["one-account", "many-names"],
)
def test_parallel_attempts_check_no_more_passwords_than_the_limit(live_server, settings, usernames, limit):
    from tests.conftest import ensure_base_data

    ensure_base_data()
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    forms = [signed_out_form(live_server.url) for _ in usernames]
    CountingHasher.checks = 0
    start = threading.Barrier(len(usernames))
    outcomes: list[int] = []

    def attempt(form, username: str) -> None:
        start.wait()
        for _ in range(5):  # the test server's short listen queue may reset a connection it never read
            try:
                outcomes.append(post_sign_in(live_server.url, form, username, WRONG).status)
                return
            except ConnectionResetError:
                time.sleep(0.1)

    threads = [threading.Thread(target=attempt, args=(form, name)) for form, name in zip(forms, usernames, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == [200] * len(usernames)
    assert CountingHasher.checks == limit


def signed_out_form(base: str) -> tuple[str, str]:
    """The CSRF cookie and form token of a fresh sign-in page (a cookie jar would keep the Secure cookie
    off plain HTTP)."""
    page = urllib.request.urlopen(f"{base}/sign-in/", timeout=60)
    cookie = next(cookie for cookie in page.headers.get_all("Set-Cookie") if cookie.startswith("csrftoken="))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode()).group(1)
    return cookie.split(";")[0], token


def post_sign_in(base: str, form: tuple[str, str], username: str, password: str, opener=None):
    cookie, token = form
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password})
    request = urllib.request.Request(f"{base}/sign-in/", data=body.encode(), headers={"Cookie": cookie})
    try:
        return (opener or urllib.request.build_opener()).open(request, timeout=120)
    except urllib.error.HTTPError as error:
        return error


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


SERVED_PROXY = "127.0.0.2"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`umbrella serve` on a fresh SQLite data directory, as installed (no UMBRELLA_SECURE_COOKIES), with
    one user and a proxy it trusts at 127.0.0.2."""
    data_dir = tmp_path_factory.mktemp("served")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("UMBRELLA_", "DJANGO_"))}
    env |= {"UMBRELLA_DATA_DIR": str(data_dir), "UMBRELLA_TRUSTED_PROXIES": SERVED_PROXY}
    umbrella = [sys.executable, "-m", "umbrella"]
    subprocess.run([*umbrella, "migrate"], env=env, check=True, capture_output=True, timeout=300)
    subprocess.run(
        [*umbrella, "createsuperuser", "--noinput", "--username", "sam", "--email", "sam@example.org", "--password-stdin"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
        input=f"{PERSONA_PASSWORD}\n",
        text=True,
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [*umbrella, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/sign-in/")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_umbrella_serve_sends_secure_session_and_csrf_cookies_by_default(served):
    form = signed_out_form(served)
    signed_in = post_sign_in(served, form, "sam", PERSONA_PASSWORD, opener=urllib.request.build_opener(NoRedirect))
    assert signed_in.status == 302
    cookies = signed_in.headers.get_all("Set-Cookie")
    csrf_cookie = next(cookie for cookie in cookies if cookie.startswith("csrftoken="))
    session_cookie = next(cookie for cookie in cookies if cookie.startswith("sessionid="))
    assert "; Secure" in csrf_cookie and "; Secure" in session_cookie and "; HttpOnly" in session_cookie


def test_umbrella_serve_behind_a_trusted_proxy_sees_each_client_and_https(served):
    def through_proxy(username: str, password: str, forwarded_for: str) -> int:
        cookie, token = signed_out_form(served)
        port = int(served.rsplit(":", 1)[1])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(SERVED_PROXY, 0))
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password})
        connection.request(
            "POST",
            "/sign-in/",
            body=body,
            headers={
                "Cookie": cookie,
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Forwarded-For": forwarded_for,
                "X-Forwarded-Proto": "https",
                "Origin": served.replace("http://", "https://"),
            },
        )
        status = connection.getresponse().status
        connection.close()
        return status

    for number in range(throttle.PER_ADDRESS):  # refused, not forbidden: the request is taken as HTTPS
        assert through_proxy(f"guess{number}", WRONG, forwarded_for=f"192.0.2.{number}, {ATTACKER}") == 200
    assert through_proxy("sam", PERSONA_PASSWORD, forwarded_for=OWNER) == 302


def wait_for(url: str):
    for _ in range(150):
        try:
            return urllib.request.urlopen(url, timeout=2)
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer")


@pytest.mark.django_db
def test_the_admin_sign_in_shares_the_throttle(personas, client):
    for _ in range(throttle.PER_PAIR):
        response = client.post("/admin/login/", {"username": "adam", "password": WRONG}, REMOTE_ADDR=ATTACKER)
        assert response.status_code == 200 and "_auth_user_id" not in client.session
    refused = client.post("/admin/login/", {"username": "adam", "password": PERSONA_PASSWORD}, REMOTE_ADDR=ATTACKER)
    assert "Too many failed sign-ins" in refused.content.decode() and "_auth_user_id" not in client.session
    signed_in, page = sign_in(client, "adam", PERSONA_PASSWORD, ATTACKER)
    assert not signed_in and "Too many failed sign-ins" in page
