"""The data directory is private: `hub init` leaves it 0700 with every file 0600 whatever the
caller's umask, the hub runs with umask 077 so the files it creates later (the database's WAL,
logs) are private too, and `hub serve` refuses a directory or a file open to group or others;
local `hub verify` refuses a lax signing key like every other command that reads a secret."""
from __future__ import annotations

import os
import shutil
import stat

import pytest

from hub import admin
from hub.datadir import DataDir
from taxii_fixtures import free_port, hub

from test_secret_permissions import assert_refused, run_hub


def _modes(root):
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]}


@pytest.fixture(scope="module")
def initialised(tmp_path_factory):
    data = tmp_path_factory.mktemp("private") / "hub"
    hub("init", data_dir=data)
    return data


@pytest.fixture
def data(initialised, tmp_path):
    copy = tmp_path / "hub"
    shutil.copytree(initialised, copy)  # copytree keeps the modes
    return copy


def test_hub_init_leaves_the_directory_0700_and_every_file_0600(initialised):
    modes = _modes(initialised)
    assert {"hub.sqlite3", "config.json", "secrets/signing.key"} <= set(modes)
    lax = {name: f"{mode:04o}" for name, mode in modes.items()
           if mode != (0o700 if (initialised / name).is_dir() else 0o600)}
    assert not lax, lax
    DataDir(initialised).check_permissions()


def test_init_as_a_library_call_is_private_even_under_umask_022(tmp_path):
    old = os.umask(0o022)
    try:
        admin.init(DataDir(tmp_path / "lib"), None)
    finally:
        os.umask(old)
    assert all(mode & 0o077 == 0 for mode in _modes(tmp_path / "lib").values()), _modes(tmp_path / "lib")


@pytest.mark.parametrize("name,mode", [(".", 0o755), (".", 0o701), ("hub.sqlite3", 0o644),
                                       ("config.json", 0o640), ("hub.sqlite3-wal", 0o604)])
def test_hub_serve_refuses_a_lax_data_directory_or_file(data, name, mode):
    target = data / name if name != "." else data
    if not target.exists():
        target.write_bytes(b"")
    os.chmod(target, mode)
    proc = run_hub("serve", "--data-dir", str(data), "--port", str(free_port()))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert str(target.resolve() if name == "." else target) in proc.stderr or str(target) in proc.stderr
    assert f"chmod -R go-rwx {data}" in proc.stderr and "Traceback" not in proc.stderr


def test_local_hub_verify_refuses_a_lax_signing_key(data):
    target = data / "secrets" / "signing.key"
    os.chmod(target, 0o644)
    assert_refused(run_hub("verify", "--data-dir", str(data)), target)
    os.chmod(target, 0o600)
    proc = run_hub("verify", "--data-dir", str(data), "--json")
    assert proc.returncode == 0, proc.stderr
