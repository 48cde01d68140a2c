"""The hub refuses to use its secrets while group or others may read or change them: `hub serve`
and every command that reads the data directory's secrets exit 2 with one line naming the file
and the fix, before anything listens or is written."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from hub.datadir import DataDir, InsecureSecrets
from taxii_fixtures import Server, free_port, hub

from conftest import PROFILE, ROOT, bundle, indicator


@pytest.fixture(scope="module")
def initialised(tmp_path_factory):
    data = tmp_path_factory.mktemp("secrets") / "hub"
    hub("init", data_dir=data)
    return data


@pytest.fixture
def data(initialised, tmp_path):
    copy = tmp_path / "hub"
    shutil.copytree(initialised, copy)  # copytree keeps the modes
    return copy


def run_hub(*args, env=None):
    return subprocess.run([sys.executable, "-m", "hub", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=60)


def assert_refused(proc, path):
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr  # one line
    assert str(path) in proc.stderr and f"chmod 600 {path}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_init_creates_secrets_the_check_accepts(initialised):
    DataDir(initialised).check_secret_permissions()  # no exception: 0600 files in a 0700 directory


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o602, 0o660, 0o644, 0o666, 0o700 | 0o004])
def test_any_group_or_other_bit_is_refused(data, mode):
    target = data / "secrets" / "signing.key"
    os.chmod(target, mode)
    with pytest.raises(InsecureSecrets) as exc:
        DataDir(data).check_secret_permissions()
    assert f"chmod 600 {target}" in str(exc.value) and f"{mode & 0o7777:04o}" in str(exc.value)


def test_owner_only_modes_are_accepted(data):
    os.chmod(data / "secrets" / "data.key", 0o400)
    os.chmod(data / "secrets" / "id_hmac.key", 0o700)
    DataDir(data).check_secret_permissions()


def test_hub_serve_refuses_to_start_then_starts_after_chmod_600(data):
    target = data / "secrets" / "data.key"
    os.chmod(target, 0o644)
    port = free_port()
    proc = run_hub("serve", "--data-dir", str(data), "--port", str(port))
    assert_refused(proc, target)
    os.chmod(target, 0o600)
    server = Server(data).start()  # the fix the message names is enough
    server.stop()


def test_a_stray_file_in_secrets_counts_too(data):
    stray = data / "secrets" / "old-signing.key.bak"
    stray.write_text("-----BEGIN PRIVATE KEY-----\n")
    os.chmod(stray, 0o644)
    assert_refused(run_hub("serve", "--data-dir", str(data), "--port", str(free_port())), stray)


def test_hub_sanitize_refuses_the_data_directory_id_key_when_group_readable(data, tmp_path):
    target = data / "secrets" / "id_hmac.key"
    os.chmod(target, 0o640)
    inp = tmp_path / "in.json"
    inp.write_text(json.dumps(bundle(indicator(1, "[ipv4-addr:value = '192.0.2.5']"))))
    prof = tmp_path / "profile.json"
    prof.write_text(json.dumps(PROFILE, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out.json"
    args = ("sanitize", str(inp), "--profile", str(prof), "-o", str(out))
    proc = run_hub(*args, env={"HUB_DATA_DIR": str(data), "HUB_SECRET_FILE": ""})
    assert_refused(proc, target)
    assert not out.exists()  # nothing written
    os.chmod(target, 0o600)
    proc = run_hub(*args, env={"HUB_DATA_DIR": str(data), "HUB_SECRET_FILE": ""})
    assert proc.returncode == 0 and out.exists() and "not reproducible" not in proc.stderr
