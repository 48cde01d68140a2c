"""The review pages: sign-in, the queue, a submission with its redactions, and the actions.

Every action calls the service layer (`hub.services`) with the signed-in principal
and redirects back with a flash message; a refusal re-renders the page with the service's
message and its HTTP status (hub.errors). Service messages never carry a victim value.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException

from ..context import HubContext
from ..domain import SUBMISSION_STATES, TLP_LEVELS
from ..errors import HubError, Missing
from ..services import permissions, publication, review, submissions
from ..services.agreements import publication_gate
from ..services.pipeline import effective_profile
from ..services.redactions import entry_keys, undoable
from ..services.sealed import open_payload, open_private_report
from ..store.base import SubmissionFilter
from . import auth
from .blueprint import bp
from .highlight import draft_marks, original_marks, profile_marks, render_bundle, render_text, text_marks
from .i18n import DEFAULT_LANG, LANGS, translate

log = logging.getLogger(__name__)

PAGE_SIZE = 50
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
    return {"t": t, "lang": g.get("lang", DEFAULT_LANG), "langs": LANGS, "lang_url": _lang_url,
            "csrf_token": auth.csrf_token, "principal": g.get("principal")}


def _lang_url(code: str) -> str:
    """This page in another language (a POST's result links to the page it came from)."""
    view_args = request.view_args or {}
    if request.method == "GET" and request.endpoint:
        return url_for(request.endpoint, **{**request.args.to_dict(), **view_args, "lang": code})
    if "sid" in view_args:
        return url_for("web.submission", sid=view_args["sid"], lang=code)
    return url_for("web.login" if g.get("principal") is None else "web.queue", lang=code)


def _safe_next(target: str | None) -> str:
    """Only a path inside the review view: never an open redirect."""
    if target and target.startswith(bp.url_prefix + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("web.queue")


# -- sign-in -----------------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if g.principal is not None:
            return redirect(url_for("web.queue"))
        return render_template("login.html", next=request.args.get("next", ""))
    principal, problem = auth.check_key(ctx().store, request.form.get("key", ""))
    nxt = request.form.get("next", "")
    if problem == "invalid":
        return render_template("login.html", error=t("login.invalid"), next=nxt), 401
    if problem == "refused":
        return render_template("login.html", error=t("login.refused", role=principal.role), next=nxt), 403
    auth.sign_in(principal)
    log.info("review sign-in by key %s", principal.key_id)
    return redirect(_safe_next(nxt))


@bp.post("/logout")
def logout():
    auth.sign_out()
    flash("login.signed_out", "info")
    return redirect(url_for("web.login"))


# -- the queue ---------------------------------------------------------------------------------

@bp.get("/")
def queue():
    store = ctx().store
    orgs = [o.name for o in store.list_orgs() if o.type == "csirt"]
    args = request.args
    chosen = {
        "status": args.get("status") if args.get("status") in SUBMISSION_STATES else "",
        "tlp": args.get("tlp") if args.get("tlp") in TLP_LEVELS else "",
        "org": args.get("org") if args.get("org") in orgs else "",
        "needs_review": args.get("needs_review") if args.get("needs_review") in ("yes", "no") else "",
    }
    page = max(int(args.get("page")) if (args.get("page") or "").isdigit() else 1, 1)
    flt = SubmissionFilter(org=chosen["org"] or None, status=chosen["status"] or None, tlp=chosen["tlp"] or None,
                           needs_review={"yes": True, "no": False}.get(chosen["needs_review"]))
    rows = submissions.listing(ctx(), principal=g.principal, flt=flt, limit=PAGE_SIZE + 1,
                               offset=(page - 1) * PAGE_SIZE)
    more = len(rows) > PAGE_SIZE
    today = ctx().today()
    items = [{"sub": s, "gate": publication_gate(store, s.org, s.victim_ref, today)} for s in rows[:PAGE_SIZE]]
    filters = {k: v for k, v in chosen.items() if v}
    return render_template(
        "queue.html", items=items, orgs=orgs, statuses=SUBMISSION_STATES, tlps=TLP_LEVELS, chosen=chosen, page=page,
        prev_url=url_for("web.queue", **filters, page=page - 1) if page > 1 else None,
        next_url=url_for("web.queue", **filters, page=page + 1) if more else None)


# -- one submission ----------------------------------------------------------------------------

@bp.get("/submissions/<sid>")
def submission(sid: str):
    return _submission_page(sid)


def _submission_page(sid: str, error: str | None = None, status: int = 200):
    try:
        sub = permissions.visible_submission(ctx(), principal=g.principal, submission_id=sid)
    except HubError as exc:
        return _error_page(exc.status, str(exc))
    report = json.loads(sub.report) if sub.report else {}
    private = open_private_report(ctx(), sub)
    entries = private["entries"] if private else report.get("entries", [])
    keys = entry_keys(entries)
    rows = [{"e": e, "key": k, "undoable": private is not None and not e.get("undone") and undoable(e)}
            for e, k in zip(entries, keys)]
    holds = report.get("holds", [])
    open_holds = [h for h in holds if not h.get("released")]
    gate = publication_gate(ctx().store, sub.org, sub.victim_ref, ctx().today())
    original = _original(sub, entries)
    draft = None
    if sub.draft:
        bundle = json.loads(sub.draft)
        draft = {"html": render_bundle(bundle, draft_marks(entries), MAX_OBJECTS_SHOWN),
                 "total": len(bundle.get("objects", []))}
    strict = publication.strict_failures(ctx(), principal=g.principal, sub=sub)
    return render_template(
        "submission.html", sub=sub, report=report, rows=rows, holds=holds, open_holds=open_holds, gate=gate,
        strict=strict,
        original=original, draft=draft, error=error, max_objects=MAX_OBJECTS_SHOWN,
        changes=report.get("summary", {}).get("changes_by_rule", {}), refused=report.get("refused", []),
        add_fields=review.ADD_FIELDS, tlps=TLP_LEVELS, editable=sub.status == "review",
        rejectable=sub.status in ("review", "refused", "failed")), status


def _original(sub, entries: list[dict]) -> dict | None:
    """The decrypted input, highlighted: pretty JSON for STIX, the text as sent otherwise."""
    try:
        payload = open_payload(ctx(), sub)
    except Missing:
        return None  # purged after the retention period
    source = payload["input"]
    if source["format"] == "stix":
        objects = source["data"].get("objects") if isinstance(source["data"], dict) else None
        return {"html": render_bundle(source["data"], original_marks(entries), MAX_OBJECTS_SHOWN),
                "total": len(objects) if isinstance(objects, list) else 0, "chars": None}
    text = source["data"][:MAX_TEXT_SHOWN]
    marks = text_marks(entries) + profile_marks(effective_profile(payload), text, review.ADD_FIELDS)
    return {"html": render_text(text, marks), "total": 0,
            "chars": len(source["data"]) if len(source["data"]) > MAX_TEXT_SHOWN else None}


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
}


@bp.post("/submissions/<sid>/<action>")
def act(sid: str, action: str):
    if action not in ACTIONS:
        return _error_page(404, None)
    run, done = ACTIONS[action]
    try:
        run(ctx(), g.principal, sid)
    except HubError as exc:  # the class carries the status (store conflicts included)
        return _refused(sid, str(exc), exc.status)
    flash(done, "ok")
    return redirect(url_for("web.submission", sid=sid), code=303)


def _refused(sid: str, message: str, status: int):
    lead = t("err.refused") if status == 422 else t("err.generic")
    return _submission_page(sid, error=f"{lead}: {message}", status=status)


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
