"""Open311 GeoReport v2 checked with real clients against a live `okno serve`.

Run by scripts/open311-clients.sh, which starts the server and passes:
  OKNO_OPEN311   base URL of the endpoint, e.g. http://127.0.0.1:PORT/open311/v2
  OKNO_API_KEY   a valid API key
  OPEN311_DATA   ../shared/data/open311 (fixtures and JSON schemas)

Clients: PyPI's georeport (read path, JSON and XML), three (JSON, create and read), and the
request shapes of the `open311` package (its module does not import on Python 3): the singular
`service/{code}`, `api_key` and an empty `jurisdiction_id` in the query string, XML responses.
Prints one closing line: `open311-clients: N passed, M failed`.
"""

import itertools
import json
import os
import sys
import traceback
import xml.etree.ElementTree as ET

import jsonschema
import requests

itertools.ifilter = filter  # three was written for Python 2
import three  # noqa: E402
from georeport import GeoReport  # noqa: E402

BASE = os.environ["OKNO_OPEN311"]
KEY = os.environ["OKNO_API_KEY"]
DATA = os.environ["OPEN311_DATA"]
SCHEMAS = os.path.join(DATA, "open311_schema_validation")
FIXTURES = os.path.join(DATA, "codeforamerica_open311_fixtures")

results = []


def check(name):
    def run(fn):
        try:
            fn()
            results.append((name, None))
            print(f"ok     {name}")
        except Exception:  # noqa: BLE001 — every failure is reported, none stops the run
            results.append((name, traceback.format_exc()))
            print(f"FAILED {name}\n{traceback.format_exc()}")
        return fn
    return run


def schema(name):
    with open(os.path.join(SCHEMAS, name), encoding="utf-8") as f:
        return json.load(f)


def validate_list(items, item_schema):
    assert isinstance(items, list) and items, f"expected a non-empty list, got {items!r:.200}"
    for item in items:
        jsonschema.validate(item, schema(item_schema))


def fixture_shape(name, path):
    """Child tag names of the first element at `path` in a fixture."""
    root = ET.parse(os.path.join(FIXTURES, name)).getroot()
    node = root if path == "." else root.find(path)
    return {child.tag for child in node}


def our_xml(url, **params):
    response = requests.get(url, params=params, timeout=30)
    assert response.headers["content-type"].startswith("text/xml"), response.headers["content-type"]
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>'), response.content[:60]
    return response.status_code, ET.fromstring(response.content)


def error_list(response, code):
    assert response.status_code == code, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body, list) and body and all(set(e) == {"code", "description"} for e in body), body
    assert all(e["code"] == code for e in body), body
    return " ".join(e["description"] for e in body)


def xml_error(response, code):
    assert response.status_code == code, (response.status_code, response.text)
    root = ET.fromstring(response.content)
    assert root.tag == "errors" and [c.tag for c in root[0]] == ["code", "description"], response.text
    assert root[0].find("code").text == str(code)


# --- georeport (read path) -------------------------------------------------------------

geo = GeoReport(BASE)
geo_xml = GeoReport(BASE, output_format="xml")
state = {}


@check("georeport: service list validates against services.json schema")
def _():
    services = geo.get_service_list()
    validate_list(services, "service.json")
    state["services"] = services
    assert any(s["metadata"] for s in services), "some service has attributes"


@check("georeport: service definition validates against service-definition.json")
def _():
    code = next(s["service_code"] for s in state["services"] if s["metadata"])
    definition = geo.get_service_definition(code)
    jsonschema.validate(definition, schema("service-definition.json"))
    state["code_with_attributes"] = code
    state["attribute"] = definition["attributes"][0]


@check("georeport: requests (default window) validate against request.json")
def _():
    found = geo.get_service_requests()
    validate_list(found, "request.json")
    assert len(found) <= 1000
    state["some_request"] = found[0]


@check("georeport: one request by id, JSON and XML agree")
def _():
    rid = state["some_request"]["service_request_id"]
    one = geo.get_service_request(rid)
    jsonschema.validate(one, schema("request.json"))
    assert one["service_request_id"] == rid
    as_xml = geo_xml.get_service_request(rid)
    assert as_xml["service_request_id"] == rid and as_xml["status"] == one["status"]


@check("georeport: XML service list parses")
def _():
    services = geo_xml.get_service_list()
    assert len(services) == len(state["services"])


@check("georeport: filters by service_code and status")
def _():
    code = state["some_request"]["service_code"]
    found = geo.get_service_requests(service_code=code, status="open")
    assert all(r["service_code"] == code and r["status"] == "open" for r in found)


# --- three (JSON, create and read) --------------------------------------------------------

t = three.Three(BASE + "/", api_key=KEY)


@check("three: services and one service definition")
def _():
    services = t.services()
    assert isinstance(services, list) and services
    definition = t.services(state["code_with_attributes"])
    assert definition["service_code"] == state["code_with_attributes"]


@check("three: post a request with an attribute, then read it and its token")
def _():
    attribute = state["attribute"]
    value = attribute["values"][0]["key"] if attribute["values"] else "1"
    posted = t.post(state["code_with_attributes"], lat="60.0367", long="30.6064", address="г. Всеволожск, Октябрьский пр., 1",
                    name="Ivan Petrov", email="ivan@example.org", description="Яма на дороге, опасно",
                    **{f"attribute[{attribute['code']}]": value})
    assert isinstance(posted, list) and set(posted[0]) >= {"service_request_id"}, posted
    rid = posted[0]["service_request_id"]
    assert isinstance(rid, str)
    read = t.request(rid)
    assert read[0]["service_request_id"] == rid and read[0]["description"] == "Яма на дороге, опасно"
    assert read[0]["status"] == "open" and read[0]["agency_responsible"], read[0]
    assert "ivan" not in json.dumps(read).lower(), "no personal data in public views"
    state["posted"] = rid


@check("three: requests with page_size (count) and a date range")
def _():
    found = t.requests(count=5, between=["01-01-2020", "01-30-2020"])
    assert isinstance(found, list) and len(found) <= 5
    recent = t.requests(count=3)
    assert len(recent) == 3


@check("three: multipart post with a media file gives a media_url that serves the photo")
def _():
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    posted = t.post(state["code_with_attributes"], lat="60.0524", long="30.5813", description="Фото ямы",
                    media=("yama.png", png, "image/png"))
    rid = posted[0]["service_request_id"]
    url = t.request(rid)[0]["media_url"]
    photo = requests.get(url, timeout=30)
    assert photo.status_code == 200 and photo.content == png and photo.headers["content-type"] == "image/png"


# --- the `open311` package's request shapes (XML) -----------------------------------------

@check("open311 shapes: singular service/{code}.xml with api_key and empty jurisdiction_id")
def _():
    status, root = our_xml(f"{BASE}/service/{state['code_with_attributes']}.xml", api_key=KEY, jurisdiction_id="")
    assert status == 200 and root.tag == "service_definition"
    ours = {c.tag for c in root.find("attribute")}
    assert fixture_shape("service_definition.xml", "attribute") <= ours, ours


@check("open311 shapes: services.xml matches the fixture's elements")
def _():
    status, root = our_xml(f"{BASE}/services.xml", api_key=KEY, jurisdiction_id="")
    assert status == 200 and root.tag == "services"
    assert fixture_shape("services.xml", "service") <= {c.tag for c in root[0]}


@check("open311 shapes: requests.xml and requests/{id}.xml match the fixtures")
def _():
    status, root = our_xml(f"{BASE}/requests.xml", api_key=KEY, jurisdiction_id="")
    assert status == 200 and root.tag == "service_requests" and len(root) > 0
    expected = fixture_shape("service_requests.xml", "request")
    assert {c.tag for c in root[0]} == expected, ({c.tag for c in root[0]} ^ expected)
    status, one = our_xml(f"{BASE}/requests/{state['posted']}.xml", jurisdiction_id="")
    assert status == 200 and {c.tag for c in one[0]} == fixture_shape("get_service_request.xml", "request")


@check("open311 shapes: POST requests.xml with api_key in the query string")
def _():
    response = requests.post(f"{BASE}/requests.xml", params={"api_key": KEY, "jurisdiction_id": ""},
                             data={"service_code": state["code_with_attributes"], "lat": "60.0024", "long": "30.5713",
                                   "description": "Test via open311 shape"}, timeout=30)
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.content)
    assert root.tag == "service_requests"
    assert {c.tag for c in root[0]} == fixture_shape("post_service_request.xml", "request")
    state["xml_posted"] = root[0].find("service_request_id").text


@check("open311 shapes: tokens/{token}.xml matches the fixture; an unknown token is 404")
def _():
    # a tracking token given to a citizen by Okno's own API (the script filed that request)
    token, rid = os.environ["OKNO_KNOWN_TOKEN"], os.environ["OKNO_KNOWN_ID"]
    status, root = our_xml(f"{BASE}/tokens/{token}.xml")
    assert status == 200 and {c.tag for c in root[0]} == fixture_shape("request_id_from_token.xml", "request")
    assert root[0].find("service_request_id").text == rid
    assert t.token(token)[0]["service_request_id"] == rid
    error_list(requests.get(f"{BASE}/tokens/no-such-token.json", timeout=30), 404)


@check("open311 shapes: errors in XML are a list of code and description")
def _():
    xml_error(requests.get(f"{BASE}/requests/not-an-id.xml", timeout=30), 404)
    xml_error(requests.post(f"{BASE}/requests.xml", data={"service_code": "x"}, timeout=30), 403)


# --- bad input, answered per the specification --------------------------------------------

def post(**fields):
    fields.setdefault("api_key", KEY)
    return requests.post(f"{BASE}/requests.json", data=fields, timeout=30)


@check("bad input: unknown service")
def _():
    assert "service_code" in error_list(post(service_code="no-such-service", lat="60.0024", long="30.5713"), 400)
    error_list(requests.get(f"{BASE}/services/no-such-service.json", timeout=30), 404)


@check("bad input: missing location")
def _():
    assert "location" in error_list(post(service_code=state["code_with_attributes"], description="x"), 400)


@check("bad input: bad coordinates")
def _():
    error_list(post(service_code=state["code_with_attributes"], lat="95", long="30.5713"), 400)
    error_list(post(service_code=state["code_with_attributes"], lat="north", long="30.5713"), 400)


@check("bad input: attribute not in the list, and an unknown attribute")
def _():
    code = state["code_with_attributes"]
    attribute = state["attribute"]
    text = error_list(post(service_code=code, lat="60.0024", long="30.5713", **{f"attribute[{attribute['code']}]": "not-a-key"}), 400)
    assert f"attribute[{attribute['code']}]" in text, text
    error_list(post(service_code=code, lat="60.0024", long="30.5713", **{"attribute[no_such_field]": "1"}), 400)


@check("bad input: over-long description")
def _():
    error_list(post(service_code=state["code_with_attributes"], lat="60.0024", long="30.5713", description="я" * 4001), 400)


@check("bad input: wrong and missing api_key")
def _():
    error_list(post(service_code=state["code_with_attributes"], lat="60.0024", long="30.5713", api_key="wrong"), 403)
    error_list(requests.post(f"{BASE}/requests.json", data={"service_code": "x", "lat": "1", "long": "1"}, timeout=30), 403)


@check("bad input: malformed dates and a range over 90 days")
def _():
    error_list(requests.get(f"{BASE}/requests.json", params={"start_date": "yesterday"}, timeout=30), 400)
    error_list(requests.get(f"{BASE}/requests.json", params={"start_date": "2025-01-01T00:00:00Z",
                                                               "end_date": "2025-06-01T00:00:00Z"}, timeout=30), 400)


@check("bulk: requests.csv carries the GeoReport fields and no personal data")
def _():
    response = requests.get(f"{BASE}/requests.csv", timeout=60)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0].startswith("service_request_id,status,status_notes,service_name,service_code,description")
    assert len(lines) > 1000, "the bulk export is not capped at 1,000"
    assert "ivan@example.org" not in response.text and "Petrov" not in response.text


failed = [name for name, error in results if error]
print(f"open311-clients: {len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
