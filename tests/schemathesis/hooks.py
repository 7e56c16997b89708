"""What schemathesis cannot read in Okno's OpenAPI document, told to it here.

The document describes every parameter and body field on its own. A few of Okno's rules tie
fields to each other, to the path, or to records in the database, and JSON Schema has no words
for those. Without these hooks schemathesis would draw "valid" requests that break them, and
count Okno's correct 422 as a failure. Each hook below states one such rule; none of them
loosens a check or hides an answer: they only make the drawn requests obey the rule.

Set by scripts/schemathesis.sh: OKNO_ST_URL (the server), OKNO_ST_TOKEN (the run's bearer
token) and OKNO_ST_TOKEN_ID (its id).
"""

import datetime
import itertools
import json
import os
import re
import urllib.request

import schemathesis

BASE = os.environ["OKNO_ST_URL"]
TOKEN = os.environ["OKNO_ST_TOKEN"]
TOKEN_ID = int(os.environ["OKNO_ST_TOKEN_ID"])


def _call(path, body=None):
    """GETs `path`, or POSTs `body` to it, as the run's admin; the JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(BASE + path, data=data, headers=headers)) as response:
        return json.load(response)


# Records the database holds: a reference to one must name one that exists (else 422 "unknown
# value", which is right).
SERVICES = [s["code"] for s in _call("/api/v1/services")]
AGENCIES = [a["code"] for a in _call("/api/v1/agencies")]
TERRITORIES = [t["code"] for t in _call("/api/v1/territories")]
REQUESTS = [r["id"] for r in _call("/api/v1/requests?limit=20")["items"]]
# Cells of the heat map (a `cell` must be an H3 cell, which a pattern cannot say).
CELLS = [p["cell"] for p in _call("/api/v1/analytics/heatmap?format=json&resolution=8")["places"][:5]]


def _routed_request(service, agency):
    """A new request, routed: its deadline is a month off, so an extension of it can be in the
    future and within the one extension its regime allows."""
    filed = _call("/api/v1/requests", {"service_code": service, "text": "Для проверки продления срока", "channel": "phone"})
    return _call(f"/api/v1/requests/{filed['id']}/route", {"agency": agency, "text": "По принадлежности"})["id"]


EXTENDABLE = [_routed_request(SERVICES[i % len(SERVICES)], AGENCIES[i % len(AGENCIES)]) for i in range(3)]
_pick = itertools.count()


def pick(values):
    """One of `values`, in turn (the run stays reproducible under its seed)."""
    return values[next(_pick) % len(values)]


def endpoint(case):
    return f"{case.operation.method.upper()} {case.operation.path}"


# Local dates near today may differ by a day between this process and the server (Europe/Moscow),
# so windows are kept a few days clear of their limits.
TODAY = datetime.date.today()
MARGIN = datetime.timedelta(days=3)


def _date(value):
    if value is None:
        return None
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        return None


def _shift(date, days):
    try:
        return date + datetime.timedelta(days=days)
    except OverflowError:
        return datetime.date.min if days < 0 else datetime.date.max


def window_fits(given_from, given_to, default_to, default_days, exclusive, max_days):
    """Whether a date window obeys its rule: `to` after `from` (or on it, when `to` is
    included), and at most `max_days` long; a missing end takes its default."""
    to = _date(given_to) or default_to
    start = _date(given_from) or _shift(to, -default_days)
    length = (to - start).days
    slack = MARGIN.days if given_to is None else 0
    return length >= (1 if exclusive else 0) + slack and (max_days is None or length <= max_days - slack)


# Operation -> (where its dates are, default `to`, default length, `to` excluded, longest window).
WINDOWS = {
    # The map and the series count [from, to): by default the 30 days before tomorrow, at most 3,660.
    "GET /api/v1/analytics/heatmap": ("query", _shift(TODAY, 1), 30, True, 3660),
    "GET /api/v1/analytics/series": ("query", _shift(TODAY, 1), 30, True, 3660),
    # Scorecards rank [from, to): by default the 30 days before tomorrow.
    "GET /api/v1/scorecards": ("query", _shift(TODAY, 1), 30, True, None),
    # A spike scan covers the days [from, to]: by default yesterday and today, at most 366 days (365 between its ends).
    "POST /api/v1/alerts/scan": ("body", TODAY, 1, False, 365),
}


@schemathesis.hook
def filter_case(ctx, case):
    rule = WINDOWS.get(endpoint(case))
    if rule is not None:
        where, default_to, default_days, exclusive, max_days = rule
        values = (case.query if where == "query" else case.body) or {}
        if not isinstance(values, dict):
            return True
        return window_fits(values.get("from"), values.get("to"), default_to, default_days, exclusive, max_days)
    # Revoking the run's own token would sign the rest of the run out.
    if endpoint(case) == "DELETE /api/v1/auth/tokens/{id}":
        return str(case.path_parameters.get("id")) != str(TOKEN_ID)
    # A client's own `source_id` and an `Idempotency-Key` both say "this is a retry of…": one
    # or the other, not both.
    if endpoint(case) == "POST /api/v1/requests" and isinstance(case.body, dict):
        return not (case.body.get("source_id") is not None and (case.headers or {}).get("Idempotency-Key") is not None)
    return True


def _valid_text(value):
    """Whether `value` is a text the document allows anywhere (no control characters but tabs
    and line breaks); one that is not was drawn to be refused, and is left as it is."""
    return isinstance(value, str) and not any(
        (ord(c) < 32 and c not in "\t\n\r") or 127 <= ord(c) <= 159 for c in value)


def _set_if_text(body, field, values, required=False, pattern=None):
    """Names an existing record in `field` where the drawn body has a valid text there (one that
    also matches the field's `pattern`, when it has one), and where it has nothing there when
    the field is `required` (a value drawn to be refused is left to be refused)."""
    value = body.get(field)
    valid = _valid_text(value) and (pattern is None or re.fullmatch(pattern, value) is not None)
    if valid or (required and value is None):
        body[field] = pick(values)


def _extension(case, body):
    """A request whose deadline can be extended, and a new deadline a day after its current one:
    later, in the future, and within one extension."""
    case.path_parameters["id"] = pick(EXTENDABLE)
    try:
        due = _call(f"/api/v1/requests/{case.path_parameters['id']}").get("due_at")
    except Exception:
        due = None
    if due:
        later = datetime.datetime.fromisoformat(due.replace("Z", "+00:00")) + datetime.timedelta(days=1)
        body["due_at"] = later.strftime("%Y-%m-%dT%H:%M:%SZ")


# The body each action needs beyond the schema: the path names the action, the body its details.
ACTION_NEEDS = {
    "route": lambda case, b: b.update(agency=pick(AGENCIES)),
    "reclassify": lambda case, b: b.update(service=pick(SERVICES)),
    "rate": lambda case, b: b.update(rating=b.get("rating") if isinstance(b.get("rating"), int) else 5),
    "mark-duplicate": lambda case, b: b.update(duplicate_of=pick(REQUESTS)),
    "extend-deadline": _extension,
}
# Actions that need a reason or an answer: a text with something in it.
NEEDS_TEXT = {"route", "reopen", "reject", "mark-duplicate", "extend-deadline", "pause-deadline", "intermediate-answer", "answer", "comment"}


@schemathesis.hook
def map_case(ctx, case):
    body = case.body if isinstance(case.body, dict) else None
    name = endpoint(case)
    if name == "POST /api/v1/requests" and body is not None:
        _set_if_text(body, "service_code", SERVICES, required=True)
        _set_if_text(body, "territory", TERRITORIES)
        # A service's attributes are its own: an attribute it does not have is refused.
        if isinstance(body.get("attributes"), dict):
            body["attributes"] = {}
        # A point is a latitude and a longitude: both or neither.
        for axis, other, value in (("lat", "lon", 30.5813), ("lon", "lat", 60.0324)):
            if isinstance(body.get(axis), (int, float)) and body.get(other) is None:
                body[other] = value
    elif name == "POST /api/v1/classify" and body is not None:
        _set_if_text(body, "service_code", SERVICES)
        _set_if_text(body, "territory", TERRITORIES)
    elif name == "GET /api/v1/requests" and isinstance(case.query, dict):
        _set_if_text(case.query, "cell", CELLS, pattern="[0-9a-f]{15}")
    elif name == "GET /api/v1/duplicates" and isinstance(case.query, dict):
        _set_if_text(case.query, "service", SERVICES)
    elif name == "POST /api/v1/routing-rules" and body is not None:
        _set_if_text(body, "service", SERVICES)
        _set_if_text(body, "agency", AGENCIES)
        _set_if_text(body, "territory", TERRITORIES)
        # Blank keywords are dropped, and a rule needs one.
        if body.get("keywords") and isinstance(body["keywords"], list) and all(isinstance(k, str) and not k.strip() for k in body["keywords"]):
            body["keywords"][0] = "keyword"
        # A rule assigns a service, an agency or both.
        if body.get("service") is None and body.get("agency") is None:
            body["agency"] = pick(AGENCIES)
    elif name == "POST /api/v1/problems/{id}" and body is not None:
        _set_if_text(body, "owner", AGENCIES)
        # A problem is named when it is accepted.
        if body.get("state") == "accepted" and not (isinstance(body.get("title"), str) and body["title"].strip()):
            body["title"] = "A named problem"
    elif name == "POST /api/v1/users" and body is not None:
        # Logins are unique, in one script and unlike every other; agency staff (only) have an agency.
        if _valid_text(body.get("login")):
            body["login"] = f"st-user-{next(_pick)}"
        if body.get("role") == "agency_staff":
            _set_if_text(body, "agency", AGENCIES, required=True)
        elif _valid_text(body.get("agency")):
            body["agency"] = None
    elif name in ("POST /api/v1/requests/{id}/{action}", "POST /api/v1/track/{token}/{action}") and body is not None:
        action = str((case.path_parameters or {}).get("action"))
        _set_if_text(body, "agency", AGENCIES)
        _set_if_text(body, "service", SERVICES)
        if action in ACTION_NEEDS:
            ACTION_NEEDS[action](case, body)
        if action in NEEDS_TEXT and not (isinstance(body.get("text"), str) and body["text"].strip()):
            body["text"] = "a reason"
    return case
