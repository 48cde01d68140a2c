"""Issue 12 item 7: `hub verify --url` finds the API root from TAXII discovery instead of assuming
`/hub/`: a hub whose API root is elsewhere, served with and without --public-url, is verified
by a peer that only knows the server's address."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests

from conftest import ROOT, indicator
from review_fixtures import hub, setup_hub
from taxii_fixtures import Server


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    keys = setup_hub(tmp_path_factory.mktemp("discovery") / "hub")
    config = keys.data_dir / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "api_root": "feed-v1"}))
    bundle = keys.data_dir / "bundle.json"
    bundle.write_text(json.dumps({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-0000000000d1",
                                  "objects": [indicator(801, "[domain-name:value = 'c2.example.net']")]}))
    out = hub("publish", str(bundle), "--collection", "TLP:GREEN", data_dir=keys.data_dir)
    return keys, out["publication"]


def _verify(base: str, keys, publication: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub", "verify", publication, "--url", base, "--json",
                           "--user", keys.consumer["key_id"], "--password", keys.consumer["key"]],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.mark.parametrize("public_url", [False, True], ids=["path-only root", "public url"])
def test_verify_url_follows_discovery_to_a_non_default_api_root(published, public_url):
    keys, publication = published
    server = Server(keys.data_dir)
    if public_url:
        server.args = ("--public-url", server.base)
    server.start()
    try:
        found = requests.get(server.base + "/taxii2/", auth=(keys.consumer["key_id"], keys.consumer["key"]),
                             headers={"Accept": "application/taxii+json;version=2.1"}, timeout=30).json()
        assert found["default"].rstrip("/").endswith("/feed-v1")
        guessed = requests.get(server.base + "/hub/", auth=(keys.consumer["key_id"], keys.consumer["key"]),
                               headers={"Accept": "application/taxii+json;version=2.1"}, timeout=30)
        assert guessed.status_code == 404  # nothing at the old guess
        proc = _verify(server.base, keys, publication)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        result = json.loads(proc.stdout)
        assert result["valid"] and result["objects"] >= 1
    finally:
        server.stop()
