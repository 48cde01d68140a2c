"""The review pages: sign-in, the queue, a submission with its redactions, and the actions.

Every action calls the service layer (`hub.services`) with the signed-in principal
and redirects back with a flash message; a refusal re-renders the page with the service's
message and its HTTP status (hub.errors). Service messages never carry a victim value.
"""
from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException

from ..context import HubContext
from ..domain import TLP_LEVELS
from ..errors import HubError, Missing
from ..services import corroboration, permissions, publication, review, sessions
from ..services.agreements import publication_gate
from ..services.pipeline import effective_profile
from ..services.redactions import entry_keys, undoable
from ..services.sealed import open_payload, open_private_report, shown_message
from . import auth, wording
from .blueprint import bp
from .highlight import draft_marks, original_marks, profile_marks, render_bundle, render_text, text_marks
from .i18n import DEFAULT_LANG, LANGS, translate
from .wording import service_message

log = logging.getLogger(__name__)

MAX_OBJECTS_SHOWN = 1000    # a huge bundle is shown in part: the page must stay usable
MAX_TEXT_SHOWN = 200_000
PUBLIC_ENDPOINTS = ("web.login", "web.static")


def ctx() -> HubContext:
    return current_app.extensions["hub"]


def t(key: str, **values) -> str:
    return translate(g.get("lang", DEFAULT_LANG), key, **values)


# -- every request -----------------------------------------------------------------------------

@bp.before_request
def _prepare():
    asked = request.args.get("lang")
    if asked in LANGS:
        session["lang"] = asked
    g.lang = session.get("lang") if session.get("lang") in LANGS else DEFAULT_LANG
    if request.method == "POST":
        auth.check_csrf()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if g.principal is None:  # the app's authentication hook found no signed-in reviewer
        flash(g.get("signed_out") or "login.required", "info")
        target = request.full_path if request.method == "GET" else None
        return redirect(url_for("web.login", next=target) if target else url_for("web.login"))
    return None


@bp.app_template_filter("when")
def _when(micros: int | None) -> str:
    if micros is None:
        return "—"
    return datetime.fromtimestamp(micros / 1e6, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


@bp.context_processor
def _template_helpers():
    lang = g.get("lang", DEFAULT_LANG)
    return {"t": t, "lang": lang, "langs": LANGS, "lang_url": _lang_url,
            "csrf_token": auth.csrf_token, "principal": g.get("principal"),
            "action_text": lambda text: wording.action_text(lang, text),
            "gate_message": lambda text: wording.gate_message(lang, text),
            "hold_reason": lambda text: wording.hold_reason(lang, text)}


def _lang_url(code: str) -> str:
    """This page in another language (a POST's result links to the page it came from)."""
    view_args = request.view_args or {}
    if request.method == "GET" and request.endpoint:
        return url_for(request.endpoint, **{**request.args.to_dict(), **view_args, "lang": code})
    if "sid" in view_args:
        return url_for("web.submission", sid=view_args["sid"], lang=code)
    return url_for("web.login" if g.get("principal") is None else "web.queue", lang=code)


def _safe_next(target: str | None) -> str:
    """Only a path inside the review view: never an open redirect, never a control character
    (a raw CR/LF cannot go into a Location header)."""
    if (target and target.startswith(bp.url_prefix + "/") and not target.startswith("//") and "\\" not in target
            and target.isprintable() and target.isascii()):
        return target
    return url_for("web.queue")


# -- sign-in -----------------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if g.principal is not None:
            return redirect(url_for("web.queue"))
        return render_template("login.html", next=request.args.get("next", ""))
    store, key = ctx().store, request.form.get("key", "")
    nxt = request.form.get("next", "")
    who = {"address": request.remote_addr, "key_id": auth.key_id_of(key)}
    try:  # per address and per key id, counted in the store: the same limit in every process
        sessions.check_throttle(store, **who, policy=auth.policy())
    except sessions.Throttled as exc:
        page = render_template("login.html", error=t("login.throttled"), next=nxt)
        return page, 429, {"Retry-After": str(exc.retry_after)}
    principal, problem = auth.check_key(store, key)
    if problem == "invalid":
        sessions.record_failure(store, **who, policy=auth.policy())
        return render_template("login.html", error=t("login.invalid"), next=nxt), 401
    if problem == "refused":
        return render_template("login.html", error=t("login.refused", role=principal.role), next=nxt), 403
    auth.sign_in(store, principal)
    log.info("review sign-in by key %s", principal.key_id)
    return redirect(_safe_next(nxt))


@bp.post("/logout")
def logout():
    auth.sign_out(ctx().store)  # the session's record goes: a saved cookie no longer works
    flash("login.signed_out", "info")
    return redirect(url_for("web.login"))


# -- one submission ----------------------------------------------------------------------------

@bp.get("/submissions/<sid>")
def submission(sid: str):
    error, status = _refusal(sid)
    return _submission_page(sid, error=error, status=status)


def _submission_page(sid: str, error: str | None = None, status: int = 200):
    try:
        sub = permissions.visible_submission(ctx(), principal=g.principal, submission_id=sid)
    except HubError as exc:
        return _error_page(exc.status, service_message(g.get("lang", DEFAULT_LANG), str(exc)))
    report = json.loads(sub.report) if sub.report else {}
    private = open_private_report(ctx(), sub)
    entries = private["entries"] if private else report.get("entries", [])
    keys = entry_keys(entries)
    rows = [{"e": e, "key": k, "undoable": private is not None and not e.get("undone") and undoable(e)}
            for e, k in zip(entries, keys)]
    holds = private["holds"] if private else report.get("holds", [])
    open_holds = [h for h in holds if not h.get("released") and not h.get("withheld")]
    gate = publication_gate(ctx().store, sub.org, sub.victim_ref, ctx().today())
    original, source = _original(sub, entries)
    draft = None
    bundle = json.loads(sub.draft) if sub.draft else {}
    counts = corroboration.hold_reporters(ctx(), principal=g.principal, submission_id=sub.id)
    holds = [{**h, "value": _held_value(h, bundle, source), **counts.get(h.get("object"), {})} for h in holds]
    if sub.draft:
        draft = {"html": render_bundle(bundle, draft_marks(entries), MAX_OBJECTS_SHOWN),
                 "total": len(bundle.get("objects", []))}
    strict = publication.strict_failures(ctx(), principal=g.principal, sub=sub)
    return render_template(
        "submission.html", sub=sub, report=report, rows=rows, holds=holds, open_holds=open_holds, gate=gate,
        strict=strict, message=shown_message(ctx(), sub),
        original=original, draft=draft, error=error, max_objects=MAX_OBJECTS_SHOWN,
        changes=report.get("summary", {}).get("changes_by_rule", {}), refused=report.get("refused", []),
        add_fields=review.ADD_FIELDS, tlps=TLP_LEVELS, editable=sub.status == "review",
        rejectable=sub.status in ("review", "refused", "failed"),
        blockers=_blockers(open_holds, gate)), status


def _blockers(open_holds: list, gate) -> list[str]:
    """Why approval cannot succeed now (the approve button is disabled while this is not empty)."""
    found = [t("act.holds_open", n=len(open_holds))] if open_holds else []
    if not gate.allowed:
        found.append(t("agr.explain"))
    return found


def _original(sub, entries: list[dict]) -> tuple[dict | None, dict]:
    """The decrypted input, highlighted: pretty JSON for STIX, the text as sent otherwise; and
    the input's objects by id (for the values of held objects)."""
    try:
        payload = open_payload(ctx(), sub)
    except Missing:
        return None, {}  # purged after the retention period
    source = payload["input"]
    if source["format"] == "stix":
        objects = source["data"].get("objects") if isinstance(source["data"], dict) else None
        objects = objects if isinstance(objects, list) else []
        by_id = {o.get("id"): o for o in objects if isinstance(o, dict)}
        return {"html": render_bundle(source["data"], original_marks(entries), MAX_OBJECTS_SHOWN),
                "total": len(objects), "chars": None}, by_id
    text = source["data"][:MAX_TEXT_SHOWN]
    marks = text_marks(entries) + profile_marks(effective_profile(payload), text, review.ADD_FIELDS)
    return {"html": render_text(text, marks), "total": 0,
            "chars": len(source["data"]) if len(source["data"]) > MAX_TEXT_SHOWN else None}, {}


def _held_value(hold: dict, draft: dict, source: dict) -> str | None:
    """What a held object says (its pattern, value or name): from the draft, else the original input."""
    obj = next((o for o in draft.get("objects", []) if o.get("id") == hold.get("object")), None)
    if obj is None:
        obj = source.get(hold.get("original"))
    if not isinstance(obj, dict):
        return None
    for field in ("pattern", "value", "name"):
        if isinstance(obj.get(field), str):
            return obj[field]
    return None


# -- actions -----------------------------------------------------------------------------------

def _form(name: str) -> str | None:
    return request.form.get(name)


ACTIONS = {
    "approve": (lambda c, p, sid: publication.approve(c, principal=p, submission_id=sid), "done.approve"),
    "reject": (lambda c, p, sid: review.reject(c, principal=p, submission_id=sid, reason=_form("reason")),
               "done.reject"),
    "redact": (lambda c, p, sid: review.add_redaction(c, principal=p, submission_id=sid, value=_form("value"),
                                                      field=_form("field")), "done.add"),
    "undo": (lambda c, p, sid: review.undo_redaction(c, principal=p, submission_id=sid, entry_key=_form("entry"),
                                                     justification=_form("justification")), "done.undo"),
    "release": (lambda c, p, sid: review.release_hold(c, principal=p, submission_id=sid, obj=_form("object"),
                                                      justification=_form("justification")), "done.release"),
    "tlp": (lambda c, p, sid: review.change_tlp(c, principal=p, submission_id=sid, tlp=_form("tlp")), "done.tlp"),
    "drop": (lambda c, p, sid: review.drop_object(c, principal=p, submission_id=sid, obj=_form("object"),
                                                  justification=_form("justification")), "done.drop"),
    "release-all": (lambda c, p, sid: review.release_all_holds(c, principal=p, submission_id=sid,
                                                               justification=_form("justification")),
                    "done.release_all"),
    "withhold": (lambda c, p, sid: review.withhold_held(c, principal=p, submission_id=sid,
                                                        justification=_form("justification")), "done.withhold"),
}


@bp.post("/submissions/<sid>/<action>")
def act(sid: str, action: str):
    if action not in ACTIONS:
        return _error_page(404, None)
    run, done = ACTIONS[action]
    try:
        run(ctx(), g.principal, sid)
    except HubError as exc:  # the class carries the status (store conflicts included)
        if exc.status == 404:
            return _error_page(404, t("err.not_found"))
        # Back to the submission page (a reload never re-posts), the message beside the actions.
        session["refused"] = {"sid": sid, "status": exc.status, "message": str(exc)}
        return redirect(url_for("web.submission", sid=sid), code=303)
    flash(done, "ok")
    return redirect(url_for("web.submission", sid=sid), code=303)


def _refusal(sid: str) -> tuple[str | None, int]:
    """The message of an action just refused on this submission, shown once, and its status (so
    the page after the redirect still answers 4xx to a script)."""
    refused = session.pop("refused", None)
    if not isinstance(refused, dict) or refused.get("sid") != sid:
        return None, 200
    status = refused.get("status") if isinstance(refused.get("status"), int) else 400
    lead = t("err.refused") if status == 422 else t("err.generic")
    return f"{lead}: {service_message(g.get('lang', DEFAULT_LANG), str(refused.get('message', '')))}", status


# -- errors ------------------------------------------------------------------------------------

def _error_page(status: int, message: str | None):
    return render_template("error.html", status=status, message=message or t("err.not_found")), status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    if exc.code == 400 and exc.description == "csrf":
        return _error_page(400, t("err.csrf"))
    if exc.code == 404:
        return _error_page(404, t("err.not_found"))
    return _error_page(exc.code or 500, exc.name)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    # Never a traceback, never a value: the type goes to the log, a plain page to the analyst.
    log.error("review view: internal error (%s)", type(exc).__name__)
    return _error_page(500, t("err.internal"))
