#!/usr/bin/env python3
"""Renders docs/openapi.yaml as docs/api-reference.md: every operation with its summary, parameters, body fields and
answers, grouped by tag. `python3 Tests/Scripts/openapi_reference.py > docs/api-reference.md`; a test checks that the
committed file is current."""
import sys
from pathlib import Path

import yaml

root = Path(__file__).resolve().parents[2]
spec = yaml.safe_load((root / "docs/openapi.yaml").read_text())
components = spec.get("components", {})


def resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        kind, name = node["$ref"].split("/")[-2:]
        node = components[kind][name]
    return node


def type_of(schema):
    schema = resolve(schema or {})
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    kind = schema.get("type", "object")
    if kind == "array":
        return f"array of {type_of(schema.get('items'))}"
    return str(kind)


def cell(text):
    return " ".join(str(text or "").split()).replace("|", "\\|")


out = [f"# {spec['info']['title']} — API reference", "",
       "Generated from `docs/openapi.yaml` by `Tests/Scripts/openapi_reference.py`; do not edit by hand.", "",
       cell(spec["info"].get("description", "")), ""]
operations = {}
for path, item in spec["paths"].items():
    shared = item.get("parameters", [])
    for method in ["get", "post", "put", "patch", "delete"]:
        if method in item:
            op = item[method]
            operations.setdefault((op.get("tags") or ["other"])[0], []).append((path, method, op, shared))
tags = [t["name"] for t in spec.get("tags", [])]
for tag in tags + sorted(set(operations) - set(tags)):
    if tag not in operations:
        continue
    out += [f"## {tag}", ""]
    for path, method, op, shared in operations[tag]:
        out += [f"### `{method.upper()} {path}`", "", cell(op.get("summary", "")), ""]
        if op.get("security") == []:
            out += ["No token needed.", ""]
        params = [resolve(p) for p in shared + op.get("parameters", [])]
        if params:
            out += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
            out += [f"| `{p['name']}` | {p['in']} | {type_of(p.get('schema'))} | {'yes' if p.get('required') else ''} | {cell(p.get('description'))} |" for p in params]
            out += [""]
        body = resolve(op.get("requestBody", {}))
        for media, content in body.get("content", {}).items():
            schema = resolve(content.get("schema", {}))
            required = set(schema.get("required", []))
            props = schema.get("properties", {})
            if props:
                out += [f"Body ({media}):", "", "| field | type | required | description |", "|---|---|---|---|"]
                out += [f"| `{name}` | {type_of(s)} | {'yes' if name in required else ''} | {cell(resolve(s).get('description'))} |" for name, s in props.items()]
                out += [""]
        answers = []
        for status, response in sorted(op.get("responses", {}).items()):
            answers.append(f"`{status}` {cell(resolve(response).get('description'))}")
        out += ["Answers: " + "; ".join(answers) + ".", ""]
sys.stdout.write("\n".join(out).rstrip() + "\n")
