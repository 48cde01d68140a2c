"""`hub publish`, the operator's bulk path: the generic leak gate (exit 3) and strict STIX 2.1
(exit 2, one line per failure, never a value) refuse before anything is stored; what is
published is signed like an approval (`hub verify`) with one chained audit entry."""
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
    assert not (data_dir / "audit.jsonl").exists()  # the unchained log is gone
    entries = DataDir(data_dir).open_store().list_audit()
    assert [(e.action, json.loads(e.details)["publication"]) for e in entries if e.action == "publish"] == \
        [("publish", result["publication"])]
    assert main(["verify", "--data-dir", str(data_dir), "--json"]) == 0
    verified = json.loads(capsys.readouterr().out)
    assert verified["valid"] and verified["objects"] >= 39
    assert main(["audit", "verify", "--data-dir", str(data_dir), "--json"]) == 0


STRICT_CASES = [  # (object, the field the failure line must name)
    ({k: v for k, v in indicator(1, "[ipv4-addr:value = '192.0.2.1']").items() if k != "pattern"}, "pattern"),
    (indicator(2, "[ipv4-addr:value = '192.0.2.2' AND"), "pattern"),
    ({**indicator(3, "[ipv4-addr:value = '192.0.2.3']"), "spec_version": "2.0"}, "spec_version"),
    (sco("file", 4, name="a.exe", hashes={"SHA-256": "ab" * 32 + "c"}), "hashes.SHA-256"),
    ({**indicator(5, "[ipv4-addr:value = '192.0.2.5']"),
      "created_by_ref": "identity--00000000-0000-4000-8000-0000000000ee"}, "created_by_ref"),
]


@pytest.mark.parametrize("bad,field", STRICT_CASES, ids=[f for _b, f in STRICT_CASES])
def test_publish_refuses_what_is_not_strict_stix_and_stores_nothing(data_dir, tmp_path, capsys, bad, field):
    good = indicator(9, "[ipv4-addr:value = '192.0.2.9']")
    code, out = publish(data_dir, tmp_path, capsys, [good, bad])
    assert code == 2, out.err
    lines = [line for line in out.err.splitlines() if line.startswith("object #")]
    assert lines and all(line.startswith("object #2 ") for line in lines), out.err
    assert any(field in line for line in lines), out.err
    assert "192.0.2" not in out.err and "ab" * 32 not in out.err  # never a value
    assert stored(data_dir) == 1
    assert not [e for e in DataDir(data_dir).open_store().list_audit() if e.action == "publish"]


@pytest.mark.parametrize("leak,rule", [
    (sdo("malware", 1, name="x", is_family=True, description="pivot via 10.20.30.40"), "DI-05"),
    (sco("directory", 2, path="C:\\Users\\kenji\\AppData"), "DI-07"),
    (sco("ipv6-addr", 3, value="fd00::1"), "DI-05"),
])
@pytest.mark.parametrize("escape", [False, True])
def test_publish_refuses_generic_leaks_and_stores_nothing(data_dir, tmp_path, capsys, leak, rule, escape):
    good = indicator(9, "[ipv4-addr:value = '192.0.2.9']")
    code, out = publish(data_dir, tmp_path, capsys, [good, leak], escape=escape)
    assert code == 3 and rule in out.err and "objects[1]" in out.err  # exit 3 as `hub sanitize`
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
