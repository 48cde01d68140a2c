"""Per-API-key rate limiting: the limiter itself (moving windows of the `limits` library, memory
and Redis storage), and a real `hub serve` started with a low limit, over a real socket."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import uuid

import pytest
import requests

from hub.services import accounts
from hub.services.permissions import cli_operator
from hub.datadir import DataDir
from hub.ratelimit import RateLimiter
from taxii_fixtures import Server, hub

from conftest import ROOT

TAXII = "application/taxii+json;version=2.1"


# ----------------------------------------------------------------------------- the limiter
def test_window_allows_the_burst_then_says_when_to_retry():
    limiter = RateLimiter(60, burst=3, namespace=uuid.uuid4().hex)  # at most 3 in any 3 seconds
    assert [limiter.take("a") for _ in range(3)] == [0, 0, 0]
    wait = limiter.take("a")
    assert 1 <= wait <= 3
    assert limiter.take("b") == 0  # another caller has its own window
    time.sleep(wait + 0.1)
    assert limiter.take("a") == 0


def test_slow_rate_gives_a_long_retry_after_and_zero_disables():
    limiter = RateLimiter(6, burst=1, namespace=uuid.uuid4().hex)  # one request every 10 seconds
    assert limiter.take("k") == 0
    assert 9 <= limiter.take("k") <= 10
    off = RateLimiter(0)
    assert not off.enabled and all(off.take("k") == 0 for _ in range(10_000))


@pytest.mark.parametrize("storage", ["memory://", "redis://127.0.0.1:6379/0"])
def test_concurrent_takes_never_exceed_the_limit(storage):
    limiter = RateLimiter(500, storage=storage, namespace=uuid.uuid4().hex)
    allowed = []

    def worker():
        allowed.append(sum(1 for _ in range(100) if limiter.take("shared") == 0))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 500


def test_redis_storage_is_one_limit_for_several_limiters():
    """Two limiters over one Redis (as two web processes have) share the caller's window."""
    namespace = uuid.uuid4().hex
    first, second = (RateLimiter(10, storage="redis://127.0.0.1:6379/0", namespace=namespace) for _ in range(2))
    admitted = sum(1 for i in range(30) if (first if i % 2 else second).take("key:k") == 0)
    assert admitted == 10


# ----------------------------------------------------------------------------- a real server
@pytest.fixture(scope="module")
def hubdir(tmp_path_factory):
    data = tmp_path_factory.mktemp("ratelimit")
    hub("init", data_dir=data)
    hub("org", "add", "peer-b", "--type", "peer", data_dir=data)
    store = DataDir(data).open_store()  # six keys in-process: a CLI run per key costs a second
    keys = [accounts.create_key(store, principal=cli_operator(), org="peer-b", role="consumer") for _ in range(6)]
    store.close()
    return data, keys


def set_config(data, **values):
    path = data / "config.json"
    config = json.loads(path.read_text())
    for k, v in values.items():
        if v is None:
            config.pop(k, None)
        else:
            config[k] = v
    path.write_text(json.dumps(config))


def get(server, key=None, path="/hub/collections/", **kwargs):
    auth = (key["key_id"], key["key"]) if key else None
    return requests.get(server.base + path, headers={"Accept": TAXII}, auth=auth, timeout=10, **kwargs)


def until_429(server, key=None, path="/hub/collections/", most=10, **kwargs):
    """Requests until the first 429: (statuses before it, the 429 response)."""
    before = []
    for _ in range(most):
        r = get(server, key, path, **kwargs)
        if r.status_code == 429:
            return before, r
        before.append(r.status_code)
    pytest.fail(f"no 429 after {most} requests: {before}")


@pytest.fixture(scope="module")
def limited(hubdir):
    """--rate-limit 60 (one token a second) with a burst of 5 from config.json."""
    data, _keys = hubdir
    set_config(data, rate_limit_burst=5, rate_limit_per_minute=None)
    server = Server(data, "--rate-limit", "60").start()
    yield server
    server.stop()


def test_one_key_over_the_limit_gets_429_another_key_still_200_and_recovers(hubdir, limited):
    _data, keys = hubdir
    a, b = keys[0], keys[1]
    before, r = until_429(limited, a)
    assert before in ([200] * 5, [200] * 6)  # the burst (a token may refill meanwhile)
    retry_after = r.headers["Retry-After"]
    assert retry_after.isdigit() and int(retry_after) >= 1
    assert r.headers["Content-Type"].startswith("application/taxii+json")
    body = r.json()
    assert body["title"] == "Too Many Requests" and body["http_status"] == "429" and body["description"]
    assert a["key"] not in r.text and a["key_id"] not in r.text
    assert get(limited, b).status_code == 200  # the other key is not affected
    time.sleep(int(retry_after) + 0.05)
    assert get(limited, a).status_code == 200  # after Retry-After the key works again


def test_objects_endpoint_and_api_paths_are_limited_healthz_is_not(hubdir, limited):
    _data, keys = hubdir
    colls = get(limited, keys[2]).json()["collections"]
    objects = f"/hub/collections/{colls[0]['id']}/objects/"
    before, r = until_429(limited, keys[2], objects)
    assert len(before) in (4, 5)  # one token went on the collections listing
    before, r = until_429(limited, keys[3], "/api/v1/submissions")
    assert len(before) in (5, 6) and r.headers["Content-Type"].startswith("application/json")
    assert r.json()["title"] == "Too Many Requests"
    assert all(requests.get(limited.base + "/healthz", timeout=10).status_code == 200 for _ in range(20))


def test_malformed_requests_spend_tokens_too(hubdir, limited):
    _data, keys = hubdir
    colls = get(limited, keys[5]).json()["collections"]
    objects = f"/hub/collections/{colls[0]['id']}/objects/"
    before, _r = until_429(limited, keys[5], objects + "?limit=abc")
    assert set(before) == {400} and len(before) in (4, 5)  # refused as bad input, yet counted


def test_unauthenticated_requests_are_limited_per_address_without_spending_a_keys_tokens(hubdir, limited):
    _data, keys = hubdir
    victim = keys[4]
    wrong = {"key_id": victim["key_id"], "key": victim["key_id"] + ".not-the-secret"}
    before, r = until_429(limited, wrong)
    assert set(before) == {401} and len(before) in (5, 6)
    assert get(limited, None).status_code == 429  # no credentials at all: the same address bucket
    assert get(limited, victim).status_code == 200  # the real key still has its tokens


def test_limit_from_config_json_and_zero_disables(hubdir):
    data, keys = hubdir
    set_config(data, rate_limit_per_minute=60, rate_limit_burst=2)
    server = Server(data).start()
    try:
        before, _r = until_429(server, keys[5])
        assert len(before) in (2, 3)
    finally:
        server.stop()
    server = Server(data, "--rate-limit", "0").start()  # the flag wins over config.json
    try:
        assert all(get(server, keys[5]).status_code == 200 for _ in range(25))
    finally:
        server.stop()


@pytest.mark.parametrize("args,config,what", [
    (["--rate-limit", "-1"], {}, "--rate-limit"),
    ([], {"rate_limit_per_minute": "lots"}, "rate_limit_per_minute"),
    ([], {"rate_limit_per_minute": 60, "rate_limit_burst": 0}, "rate_limit_burst"),
    ([], {"rate_limit_storage": "ftp://cache.example/"}, "rate_limit_storage"),
    (["--processes", "2"], {}, "rate_limit_storage"),  # memory storage would allow 2x the limit
    ([], {"rate_limit_storage": "redis://127.0.0.1:1/0"}, "rate_limit_storage"),  # unreachable
])
def test_bad_rate_limit_settings_exit_2_with_one_line(hubdir, tmp_path, args, config, what):
    data = tmp_path / "hub"
    shutil.copytree(hubdir[0], data)
    set_config(data, **{"rate_limit_per_minute": None, "rate_limit_burst": None, **config})
    proc = subprocess.run([sys.executable, "-m", "hub", "serve", "--data-dir", str(data), "--port", "1", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and what in proc.stderr and "Traceback" not in proc.stderr
