"""`hub publish`, the operator's bulk path: the generic leak gate refuses before anything is
stored, and what is published can be read back."""
from __future__ import annotations

import json

import pytest

from hub.cli import main
from hub.datadir import DataDir

from conftest import bundle, indicator, sco, sdo


@pytest.fixture
def data_dir(tmp_path, capsys):
    assert main(["init", "--data-dir", str(tmp_path / "hub"), "--json"]) == 0
    capsys.readouterr()
    return tmp_path / "hub"


def publish(data_dir, tmp_path, capsys, objects, escape=False):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle(*objects), ensure_ascii=escape), encoding="utf-8")
    code = main(["publish", str(path), "--collection", "TLP:GREEN", "--data-dir", str(data_dir), "--json"])
    return code, capsys.readouterr()


def stored(data_dir) -> int:
    store = DataDir(data_dir).open_store()
    return store.count_objects(store.find_collection("TLP:GREEN").id)


def test_publish_stores_and_reports(data_dir, tmp_path, capsys):
    code, out = publish(data_dir, tmp_path, capsys, [indicator(i, f"[ipv4-addr:value = '192.0.2.{i}']")
                                                     for i in range(1, 40)])
    assert code == 0
    result = json.loads(out.out)
    assert result["added"] == 39 and result["failure_count"] == 0 and stored(data_dir) == 40
    assert (data_dir / "audit.jsonl").read_text().count('"publish"') == 1


@pytest.mark.parametrize("leak,rule", [
    (sdo("malware", 1, name="x", is_family=True, description="pivot via 10.20.30.40"), "DI-05"),
    (sco("directory", 2, path="C:\\Users\\kenji\\AppData"), "DI-07"),
    (sco("ipv6-addr", 3, value="fd00::1"), "DI-05"),
])
@pytest.mark.parametrize("escape", [False, True])
def test_publish_refuses_generic_leaks_and_stores_nothing(data_dir, tmp_path, capsys, leak, rule, escape):
    good = indicator(9, "[ipv4-addr:value = '192.0.2.9']")
    code, out = publish(data_dir, tmp_path, capsys, [good, leak], escape=escape)
    assert code == 2 and rule in out.err and "objects[1]" in out.err
    assert "10.20.30.40" not in out.err and "kenji" not in out.err
    assert stored(data_dir) == 1  # only the operator identity from init


def test_init_creates_private_secrets_and_the_operator_identity(data_dir):
    import stat

    secrets = data_dir / "secrets"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    for name in ("id_hmac.key", "data.key", "signing.key"):
        assert stat.S_IMODE((secrets / name).stat().st_mode) == 0o600
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    load_pem_private_key((secrets / "signing.key").read_bytes(), password=None)
    assert len(bytes.fromhex((secrets / "data.key").read_text())) == 32  # AES-256-GCM
    assert stored(data_dir) == 1  # the operator identity, in every TLP collection


def test_init_twice_is_refused(data_dir, capsys):
    assert main(["init", "--data-dir", str(data_dir), "--json"]) == 2
    assert "already initialised" in capsys.readouterr().err
