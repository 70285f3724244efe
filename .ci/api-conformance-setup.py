"""Prepares the demo server for .ci/api-conformance: logs in as the demo administrator (printed
on stdout: the access token schemathesis sends) and gives schemathesis something to work on
that it cannot make itself. The administrator defines a collection, a coach (who may, under the
demo's `training` policies) writes a record about a participant and attaches a file to it; their
ids and names go to a schemathesis config (argv[3]) as dictionaries for the record, file and
collection operations. Without them nearly every record operation would only ever see 404.

Usage: api-conformance-setup.py CREDENTIALS_JSON BASE_URL CONFIG_OUT
Standard library only; runs in the test tools' venv."""

import json
import sys
import urllib.request

creds_file, base, config_out = sys.argv[1:4]
api = base + "/api/v1"


def call(method, path, token=None, body=None, content_type="application/json"):
    headers = {}
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = content_type
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(api + path, data, headers, method=method)
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


# The demo's first tenant, its users in core/src/demo.rs's order: administrator, coach, two
# participants.
tenant = json.load(open(creds_file))["tenants"][0]
admin, coach = tenant["users"][0], tenant["users"][1]
assert "administrator" in admin["roles"], "tenants[0].users[0] is not the administrator"
assert "coach" in coach["roles"], "tenants[0].users[1] is not the coach"


def login(user):
    body = {"tenant": tenant["slug"], "email": user["email"], "password": user["password"]}
    return call("POST", "/auth/login", body=body)["access_token"]


admin_token, coach_token = login(admin), login(coach)

collection = "notes"
call("POST", "/collections", admin_token, {
    "name": collection,
    "fields": [
        {"name": "title", "type": "string", "searchable": True},
        {"name": "score", "type": "integer", "searchable": True},
        {"name": "done", "type": "boolean", "searchable": True},
        {"name": "amount", "type": "number"},
        {"name": "ends", "type": "date"},
        {"name": "note", "type": "string", "personal": True},
    ],
    "retention": {"end_field": "ends", "days": 30},
})
participant = next(u for u in call("GET", "/users", admin_token) if "participant" in u["roles"])
group = call("GET", "/me", coach_token)["groups"][0]["id"]
record = call("POST", f"/collections/{collection}/records", coach_token, {
    "subject_id": participant["id"],
    "group_id": group,
    "visibility": "group",
    "data": {"title": "Intake", "score": 3, "done": False, "amount": 1.5,
             "ends": "2030-01-01", "note": "first meeting"},
})["id"]
file_name = "notes.txt"
call("PUT", f"/records/{record}/files/{file_name}", coach_token,
     b"0123456789" * 100, content_type="text/plain")

# Dictionaries: the seeded values are drawn for these parameters half of the time; the other
# half is generated as usual.
with open(config_out, "a") as out:
    out.write(f"""
[dictionaries]
records = {{ values = ["{record}"] }}
files = {{ values = ["{file_name}"] }}
collections = {{ values = ["{collection}"] }}

[[operations]]
include-path-regex = "^/api/v1/records/"
parameters = {{ "path.id" = {{ dictionary = "records", probability = 0.5 }}, "path.name" = {{ dictionary = "files", probability = 0.5 }} }}

[[operations]]
include-path-regex = "^/api/v1/collections/"
parameters = {{ "path.name" = {{ dictionary = "collections", probability = 0.5 }} }}
""")

print(admin_token)
