"""The API's OpenAPI document (GET /api/v1/openapi.json) holds to the app: it is valid OpenAPI 3.1, it has
every route and method of /api/v1, and each of its examples, sent to the app on the seeded data with the
story of app/web/api/contract.py played first, gets the documented status and an answer the documented
schema accepts. The docs page loads its assets from this server."""
import fnmatch
import io
import re
from datetime import datetime

import pytest
from conftest import Api, clear_runtime_rows
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from app import db
from app.calendar import COMPANY_TZ, clock
from app.extensions import limiter
from app.web.api import contract

PREFIX = "/api/v1"
# The examples' dates (a visit on 1 December, an away week from 7 December) are written for this moment.
STORY_TIME = datetime(2026, 12, 2, 10, 0, tzinfo=COMPANY_TZ)
SUCCESS = range(200, 300)


@pytest.fixture(scope="module")
def document(app):
    response = app.test_client().get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def schema_validator(document, schema) -> Draft202012Validator:
    """A validator of `schema` that resolves the document's #/components references."""
    return Draft202012Validator({**schema, "components": document["components"]},
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def problems_of(document, schema, value) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in schema_validator(document, schema).iter_errors(value)]


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_route_and_method_of_the_api_is_in_the_document(app, document):
    documented = {(path, method.upper()) for path, method, _ in operations(document)}
    routes = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix(PREFIX)), method)
              for rule in app.url_map.iter_rules() if rule.rule.startswith(PREFIX + "/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes - documented == set()
    assert documented - routes == set()


def test_every_operation_has_examples_and_every_documented_example_fits_its_schema(document):
    without = [f"{method.upper()} {path}" for path, method, operation in operations(document)
               if not operation.get("x-examples")]
    assert without == []
    unfit = []
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            for media in response.get("content", {}).values():
                for name, example in media.get("examples", {}).items():
                    unfit += [f"{method.upper()} {path} {status} {name}: {p}"
                              for p in problems_of(document, media["schema"], example["value"])]
    assert unfit == []


class Story:
    """The story the examples tell (app/web/api/contract.py), played through the API: the ids it got,
    by the ids the document gives them."""

    def __init__(self, api: Api):
        self.api = api
        self.ids: dict[tuple[str, int], int] = {}

    def play(self, needs_claimable: bool) -> None:
        case = self.borrow(customer_id=1)
        self.ids[("instance_id", contract.SAMPLE_CASE)] = case["id"]
        self.ids[("task_id", contract.SAMPLE_TASK)] = case["tasks"][0]["id"]
        attached = self.api.client.post(f"{PREFIX}/instances/{case['id']}/attachments",
                                        headers=self.headers("rep_e2"),
                                        data={"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "loan.pdf")})
        assert attached.status_code == 201, attached.get_json()
        self.ids[("attachment_id", contract.SAMPLE_ATTACHMENT)] = attached.get_json()[0]["id"]
        if needs_claimable:
            case = self.borrow(customer_id=2)
            consented = self.api.post(f"/tasks/{case['tasks'][0]['id']}/complete", "rep_e1",
                                      {"data": {"decision": "approve", "comment": "同意"}})
            assert consented.status_code == 200, consented.get_json()
            self.ids[("instance_id", contract.CLAIMABLE_CASE)] = case["id"]
            self.ids[("task_id", contract.CLAIMABLE_TASK)] = consented.get_json()["instance"]["tasks"][0]["id"]

    def borrow(self, customer_id: int) -> dict:
        started = self.api.post("/processes/dossier_borrowing/instances", "rep_e2",
                                {"data": {"customer_id": customer_id, "purpose": "拜访前了解客户", "days": 7}})
        assert started.status_code == 201, started.get_json()
        return started.get_json()

    def headers(self, user: str | None) -> dict:
        return {"Authorization": f"Bearer {self.api.token(user)}"} if user else {}

    def real(self, name: str, value):
        return self.ids.get((name, value), value)


def requests_of(document):
    """Each example as a request: (label, path, method, operation, example index entry, path values,
    query, body and its media type)."""
    for path, method, operation in operations(document):
        parameters = operation.get("parameters", [])
        content = operation.get("requestBody", {}).get("content", {})
        for example in operation.get("x-examples", []):
            name = example["name"]
            values = {(p["in"], p["name"]): p["examples"][name]["value"] for p in parameters
                      if name in p.get("examples", {})}
            body, media_type = None, None
            for candidate, media in content.items():
                if name in media.get("examples", {}):
                    body, media_type = media["examples"][name]["value"], candidate
            yield (f"{method.upper()} {path} [{name}]", path, method, operation, example, values, body, media_type)


def send(story: Story, path: str, method: str, example: dict, values: dict, body, media_type):
    url = PREFIX + re.sub(r"\{(\w+)\}", lambda m: str(story.real(m.group(1), values[("path", m.group(1))])), path)
    query = {name: value for (place, name), value in values.items() if place == "query"}
    options = {"headers": story.headers(example["user"]), "query_string": query}
    if media_type == "multipart/form-data":
        options["data"] = {name: [(io.BytesIO(text.encode()), f"{name}.pdf") for text in files]
                           for name, files in body.items()}
    elif body is not None:
        options["json"] = body
    return story.api.client.open(url, method=method.upper(), **options)


def test_every_example_request_gets_its_documented_answer(app, document):
    wrong = []
    for label, path, method, operation, example, values, body, media_type in requests_of(document):
        with app.app_context():
            clear_runtime_rows()
            db.session.commit()
        limiter.reset()
        clock.set(STORY_TIME)
        story = Story(Api(app))
        story.play(needs_claimable=any(name == "task_id" and value == contract.CLAIMABLE_TASK
                                       for (_, name), value in values.items()))
        response = send(story, path, method, example, values, body, media_type)
        if response.status_code != example["status"]:
            wrong.append(f"{label}: {response.status_code} instead of {example['status']}: "
                         f"{response.get_data(as_text=True)[:300]}")
            continue
        documented = operation["responses"][str(example["status"])]
        ((documented_type, media),) = documented.get("content", {"*/*": {}}).items()
        if documented_type != "application/json":
            if not fnmatch.fnmatch(response.mimetype, documented_type):
                wrong.append(f"{label}: {response.mimetype} is not {documented_type}")
            continue
        answer = response.get_json()
        wrong += [f"{label}: {p}" for p in problems_of(document, media["schema"], answer)]
        shown = media.get("examples", {}).get(example["name"], {}).get("value")
        if example["status"] not in SUCCESS and shown and shown["error"]["code"] != answer["error"]["code"]:
            wrong.append(f"{label}: code {answer['error']['code']} instead of {shown['error']['code']}")
        if example["status"] in SUCCESS and body is not None and media_type == "application/json":
            request_schema = operation["requestBody"]["content"][media_type]["schema"]
            wrong += [f"{label} request: {p}" for p in problems_of(document, request_schema, body)]
    assert not wrong, "\n".join(wrong)


def test_the_docs_page_loads_swagger_ui_from_this_server(app):
    client = app.test_client()
    page = client.get(f"{PREFIX}/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>" not in html  # the Content-Security-Policy allows no inline script
    assets = re.findall(r'(?:src|href)="(/(?:vendor|static)/[^"]+)"', html)
    assert any("swagger-ui-bundle.js" in url for url in assets) and any("api-docs.js" in url for url in assets)
    assert any("swagger-ui.css" in url for url in assets)
    for url in assets:
        assert client.get(url).status_code == 200, url
    spec_url = re.search(r'data-spec-url="([^"]+)"', html).group(1)
    assert client.get(spec_url).status_code == 200
