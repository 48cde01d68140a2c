"""The queue page (search, filters, paging, oldest waiting first), its CSV export, and the
overview page with server-drawn SVG charts."""
from __future__ import annotations

import re

from flask import Response, g, render_template, request, url_for

from ..domain import IOC_CLASSES, SUBMISSION_STATES, TLP_LEVELS
from ..errors import HubError
from ..services import overview, queue as queue_service
from ..store.base import SubmissionFilter
from . import charts
from .blueprint import bp
from .views import _error_page, ctx, t

PAGE_SIZE = 50
MAX_PAGE = 100_000
MAX_SEARCH = 200
SORTS = ("oldest", "newest")


def _chosen() -> tuple[dict, SubmissionFilter]:
    orgs = [o.name for o in ctx().store.list_orgs() if o.type == "csirt"]
    args = request.args
    q = (args.get("q") or "").strip()[:MAX_SEARCH]
    chosen = {
        "status": args.get("status") if args.get("status") in SUBMISSION_STATES else "",
        "tlp": args.get("tlp") if args.get("tlp") in TLP_LEVELS else "",
        "org": args.get("org") if args.get("org") in orgs else "",
        "needs_review": args.get("needs_review") if args.get("needs_review") in ("yes", "no") else "",
        "q": q,
        "sort": args.get("sort") if args.get("sort") in SORTS else "",
    }
    flt = SubmissionFilter(org=chosen["org"] or None, status=chosen["status"] or None, tlp=chosen["tlp"] or None,
                           needs_review={"yes": True, "no": False}.get(chosen["needs_review"]),
                           oldest_first=chosen["sort"] != "newest")
    if q:
        flt = queue_service.search(ctx(), principal=g.principal, flt=flt, query=q, orgs=orgs)
    return {"orgs": orgs, "chosen": chosen}, flt


@bp.get("/")
def queue():
    form, flt = _chosen()
    chosen = form["chosen"]
    page = _page(request.args.get("page"))
    rows = queue_service.rows(ctx(), principal=g.principal, flt=flt, limit=PAGE_SIZE + 1,
                              offset=(page - 1) * PAGE_SIZE)
    more = len(rows) > PAGE_SIZE
    filters = {k: v for k, v in chosen.items() if v}
    return render_template(
        "queue.html", items=rows[:PAGE_SIZE], orgs=form["orgs"], statuses=SUBMISSION_STATES, tlps=TLP_LEVELS,
        chosen=chosen, page=page, classes=IOC_CLASSES, sorts=SORTS,
        first_url=url_for("web.queue", **filters) if page > 1 else None,
        prev_url=url_for("web.queue", **filters, page=page - 1) if page > 1 else None,
        next_url=url_for("web.queue", **filters, page=page + 1) if more else None,
        csv_url=url_for("web.queue_csv", **filters))


@bp.get("/queue.csv")
def queue_csv():
    _, flt = _chosen()
    try:
        body = queue_service.export_csv(ctx(), principal=g.principal, flt=flt)
    except HubError as exc:
        return _error_page(exc.status, str(exc))
    return Response("\ufeff" + body, mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="review-queue.csv"'})


@bp.get("/overview")
def overview_page():
    try:
        f = overview.figures(ctx(), principal=g.principal)
    except HubError as exc:
        return _error_page(exc.status, str(exc))
    ages = [(t("age." + name), n) for name, n in f["queue_age"]]
    states = {s: t("status." + s) for s in SUBMISSION_STATES}
    figures = {
        "queue_age": charts.bars(t("ov.queue_age"), ages),
        "per_day": charts.stacked(t("ov.per_day"), f["per_day"], states),
        "to_publication": charts.bars(t("ov.to_publication"), [(t("age." + n), v) for n, v in f["to_publication"]]),
        "holds_by_rule": charts.bars(t("ov.holds_by_rule"), f["holds_by_rule"]) if f["holds_by_rule"] else None,
        "corroborated": charts.bars(t("ov.corroborated"), [(d[5:], n) for d, n in f["corroborated"]]),
    }
    return render_template("overview.html", charts=figures, waiting=f["waiting"], total=f["total"])


def _page(raw: str | None) -> int:
    """A page number: ASCII digits only ("²" is a digit to str.isdigit, and int() refuses it),
    clamped so that the offset stays an integer the store accepts."""
    if not raw or not re.fullmatch(r"[0-9]{1,9}", raw):
        return 1
    return min(max(int(raw), 1), MAX_PAGE)
