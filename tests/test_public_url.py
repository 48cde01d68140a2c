"""`hub serve --public-url`: TAXII discovery names the API root under the operator's URL, never
under the request's Host header, and the review view's cookie is Secure when that URL is https
(switchable with --no-secure-cookies)."""
from __future__ import annotations

import re

import pytest
import requests

from hub.app import create_app
from hub.context import HubContext
from hub.datadir import DataDir
from hub.errors import Invalid
from hub.feed import public_url_of
from review_fixtures import auth, setup_hub
from taxii_fixtures import Server

TAXII = {"Accept": "application/taxii+json;version=2.1"}


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return setup_hub(tmp_path_factory.mktemp("public") / "hubdata")


def test_discovery_uses_the_public_url_never_the_host_header(keys):
    ctx = HubContext.from_datadir(DataDir(keys.data_dir))
    for public, expected in (("https://hub.example.jp", "https://hub.example.jp/hub/"), (None, "/hub/")):
        app = create_app(ctx.store, ctx=ctx, test_config={"SECRET_KEY": "k" * 32, "PUBLIC_URL": public})
        r = app.test_client().get("/taxii2/", headers={**TAXII, "Host": "evil.example"},
                                  auth=auth(keys.consumer))
        assert r.status_code == 200, r.text
        body = r.get_json()
        assert body["api_roots"] == [expected] and body["default"] == expected
        assert "evil.example" not in r.text


@pytest.mark.parametrize("bad", ["ftp://hub.example.jp", "hub.example.jp", "https://", "https://h.example/?q=1",
                                 "https://h.example/#x", "https://h.example/a b", "https://h.example/\r\nX: y"])
def test_a_public_url_that_is_not_an_http_url_is_refused(bad):
    with pytest.raises(Invalid):
        public_url_of(bad)


def test_https_public_url_makes_the_cookie_secure_and_the_flag_switches_it_off(keys):
    for args, secure in ((("--public-url", "https://hub.example.jp/"), True),
                         (("--public-url", "https://hub.example.jp", "--no-secure-cookies"), False),
                         ((), False)):
        server = Server(keys.data_dir, *args).start()
        try:
            r = requests.get(server.base + "/taxii2/", headers={**TAXII, "Host": "evil.example"},
                             auth=auth(keys.consumer), timeout=30)
            if args:
                assert r.json()["api_roots"] == ["https://hub.example.jp/hub/"]
            else:
                assert r.json()["api_roots"] == [server.base + "/hub/"]
            web = requests.Session()
            page = web.get(server.base + "/review/login", timeout=30)
            token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
            cookie = page.headers["Set-Cookie"]
            assert ("; Secure" in cookie) == secure, cookie
            assert token
        finally:
            server.stop()
