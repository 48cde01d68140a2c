"""The CSIRT and peer side over HTTP: `hub submit` (the submission API) and `hub verify`
(a publication's signature and objects, fetched with the API and taxii2-client)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urljoin

import requests
from taxii2client.v21 import Collection, as_pages


from .errors import Invalid
from .manifest import verify_publication
from .store.base import Publication

FORMATS = {".csv": "csv", ".txt": "text"}
DONE = ("review", "published", "rejected", "failed", "refused")


def _session(user: str, password: str) -> requests.Session:
    session = requests.Session()
    session.auth = (user, password)
    session.headers["Accept"] = "application/json"
    return session


def _call(session: requests.Session, method: str, url: str, **kwargs) -> dict:
    try:
        resp = session.request(method, url, timeout=300, **kwargs)
    except requests.ConnectionError:
        raise Invalid(f"cannot connect to {url.split('/api/')[0]}") from None
    if resp.status_code >= 400:
        try:
            detail = resp.json().get("description") or resp.json().get("title")
        except ValueError:
            detail = None
        raise Invalid(f"the hub answered {resp.status_code}" + (f": {detail}" if detail else ""))
    return resp.json() if resp.content else {}


def submit(url: str, user: str, password: str, path: str, profile: str, *, tlp: str | None,
           victim_ref: str | None, attribution: bool, input_format: str | None, wait: float) -> dict:
    """POST a file as a submission; with `wait`, poll until the sanitiser has finished."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise Invalid(f"input: cannot read {path} ({exc.strerror or type(exc).__name__})") from None
    fmt = input_format or FORMATS.get(file.suffix.lower(), "stix")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(f"input: not UTF-8 text (byte {exc.start})") from None
    if fmt == "stix":
        try:
            body: dict = {"bundle": json.loads(text)}
        except ValueError as exc:
            raise Invalid(f"input: not valid JSON ({exc.args[0].split(':')[0]})") from None
    else:
        body = {fmt: text}
    profile_path = Path(profile)
    if profile_path.is_file():  # a profile file, else the id or name of a registered profile
        try:
            body["victim_profile"] = json.loads(profile_path.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError):
            raise Invalid("profile: not a readable JSON file") from None
    else:
        body["profile_id"] = profile
    for key, value in (("tlp", tlp), ("victim_ref", victim_ref)):
        if value is not None:
            body[key] = value
    if attribution:
        body["attribution"] = True
    base = url.rstrip("/")
    session = _session(user, password)
    accepted = _call(session, "POST", f"{base}/api/v1/submissions", json=body)
    status = accepted
    deadline = time.monotonic() + wait
    while wait and status.get("status") not in DONE and time.monotonic() < deadline:
        time.sleep(0.5)
        status = _call(session, "GET", f"{base}/api/v1/submissions/{accepted['id']}")
    if status is not accepted:
        accepted = {**accepted, "status": status.get("status"), "report": status.get("report"),
                    "message": status.get("message")}
    return accepted


def api_root_of(session, base: str) -> str:
    """The hub's default API root, from TAXII discovery (never assumed to be /hub/)."""
    try:
        r = session.get(f"{base}/taxii2/", headers={"Accept": "application/taxii+json;version=2.1"}, timeout=30)
    except requests.RequestException:
        raise Invalid(f"cannot reach {base}/taxii2/ (TAXII discovery)") from None
    if r.status_code != 200:
        raise Invalid(f"TAXII discovery at {base}/taxii2/ answered {r.status_code}")
    found = r.json()
    root = found.get("default") or (found.get("api_roots") or [None])[0]
    if not isinstance(root, str) or not root:
        raise Invalid("TAXII discovery names no API root")
    # A hub served without --public-url names its root by path only: relative to discovery.
    root = urljoin(f"{base}/taxii2/", root)
    if not root.startswith(("http://", "https://")):
        raise Invalid("TAXII discovery names no API root")
    return root if root.endswith("/") else root + "/"


def verify_remote(url: str, user: str, password: str, publication_id: str, trusted_key: str | None) -> dict:
    """Fetch a publication and the hub's key over the API, the objects over TAXII; check all."""
    base = url.rstrip("/")
    session = _session(user, password)
    record = _call(session, "GET", f"{base}/api/v1/publications/{publication_id}")
    key = trusted_key or _call(session, "GET", f"{base}/api/v1/signing-key")["public_key"]
    publication = Publication(record["id"], record.get("submission", ""), record["collection"],
                              record["created"], record["manifest"], record["signature"], record["public_key"])
    manifest = json.loads(publication.manifest)
    coll = Collection(f"{api_root_of(session, base)}collections/{publication.collection_id}/", user=user,
                      password=password)
    fetched = {}
    ids = [o["id"] for o in manifest["objects"]]
    for i in range(0, len(ids), 100):
        for envelope in as_pages(coll.get_objects, per_request=1000, id=",".join(ids[i:i + 100]), version="all"):
            for obj in envelope.get("objects", []):
                fetched[(obj["id"], obj.get("modified") or obj.get("created"))] = obj
    problems = verify_publication(publication, fetched, trusted_key=key)
    return {"publication": publication_id, "objects": len(ids), "valid": not problems, "problems": problems}
