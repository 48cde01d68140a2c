"""A pytest plugin (registered in conftest): when the whole suite has run, every object in every
TLP collection of every hub the tests left behind must pass stix2-validator (issue 12: strict
STIX at the door of every TLP collection, whatever route a test took to publish). It reads the
SQLite hubs under the session's temporary directory (PostgreSQL test databases are dropped by
their modules; tests/test_strict_publication.py checks those in place) and validates each object
with stix2-validator directly, not with the hub's own check."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, text
from stix2validator import ValidationOptions, validate_instance

OPTIONS = ValidationOptions(version="2.1", disabled=["all"])
MAX_SHOWN = 20


def _hubs(base: Path):
    for config in base.rglob("config.json"):
        try:
            url = json.loads(config.read_text()).get("database_url", "")
        except (OSError, ValueError):
            continue
        if isinstance(url, str) and url.startswith("sqlite:///") and Path(url[len("sqlite:///"):]).is_file():
            yield config.parent, url


def invalid_objects(base: Path) -> tuple[int, list[str]]:
    """(objects checked, one line per object stix2-validator rejects)."""
    checked, problems = 0, []
    for data_dir, url in _hubs(base):
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(text(
                    "SELECT c.title, o.body FROM objects o JOIN collections c ON c.id = o.collection_id "
                    "WHERE c.tlp IS NOT NULL")).all()
        except Exception:  # noqa: BLE001  (a hub a test left half-made, or another schema)
            continue
        finally:
            engine.dispose()
        for title, body in rows:
            checked += 1
            obj = json.loads(body)
            errors = validate_instance(obj, OPTIONS).errors
            if errors:
                problems.append(f"{data_dir.relative_to(base)} {title} {obj.get('type')} {obj.get('id')}: "
                                f"{str(errors[0])[:160]}")
    return checked, problems


def pytest_sessionfinish(session, exitstatus):
    if exitstatus != 0 or session.config.option.collectonly or session.testscollected < 200:
        return  # a failed run says enough; a few chosen files are not "the whole suite"
    base = session.config._tmp_path_factory.getbasetemp()
    checked, problems = invalid_objects(base)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    line = f"TLP collections after the suite: {checked} objects checked with stix2-validator, {len(problems)} invalid"
    if reporter:
        reporter.write_line(line)
        for p in problems[:MAX_SHOWN]:
            reporter.write_line("  " + p)
    if problems:
        session.exitstatus = 1
