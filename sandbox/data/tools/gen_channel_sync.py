#!/usr/bin/env python3
"""Derive the Odoo sandbox's model of the channel_sync addon from the addon's source.

The sandbox must know the addon exactly as a real Odoo 19 with the addon installed
would describe it, and must never drift from it. So nothing is written by hand: this
script reads the addon with ``ast`` (no Odoo needed) and writes

* ``sandbox/data/fields_get/channel_sync/<model>.json``: what ``fields_get(attributes=
  ['string', 'type', 'required', 'readonly', 'relation', 'selection'])`` answers for the
  addon's models (with the magic fields) and, for the models it extends (``sale.order``,
  ``stock.picking``, ``product.product``, ``product.template``), the fields it adds;
* ``sandbox/data/fields_get/channel_sync/_index.json``: description of each model and
  whether the addon defines or extends it;
* ``sandbox/data/fields_get/channel_sync/_behaviour.json``: what ``fields_get`` does not say
  and the sandbox needs: ``_order``, ``_rec_name``, SQL constraints (UNIQUE and CHECK, with
  their messages), static and dynamic defaults, computed and related fields, one2many
  inverses, the fields the daemon's technical user may write (``DAEMON_FIELDS``), the
  access rights (``security/ir.model.access.csv``) and the groups
  (``security/channel_sync_security.xml``).

Usage::

    python3 sandbox/data/tools/gen_channel_sync.py            # (re)write the files
    python3 sandbox/data/tools/gen_channel_sync.py --check    # exit 1 if they differ

``sandbox/tests/addon.rs`` runs ``--check``: a field renamed in the addon and not here
fails the sandbox's tests.
"""

import argparse
import ast
import csv
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ADDON = ROOT / "odoo_module" / "channel_sync"
OUT = ROOT / "sandbox" / "data" / "fields_get" / "channel_sync"
MODULE = "channel_sync"

FIELD_TYPES = {
    "Char": "char",
    "Text": "text",
    "Html": "html",
    "Integer": "integer",
    "Float": "float",
    "Monetary": "monetary",
    "Boolean": "boolean",
    "Date": "date",
    "Datetime": "datetime",
    "Selection": "selection",
    "Many2one": "many2one",
    "One2many": "one2many",
    "Many2many": "many2many",
    "Binary": "binary",
    "Json": "json",
    "Reference": "reference",
    "Many2oneReference": "many2one_reference",
}
RELATIONAL = {"many2one", "one2many", "many2many"}

# Fields of the models the addon extends that related fields traverse, as the captured
# fields_get of Odoo 19 describes them (read from sandbox/data/fields_get/*.json).
CAPTURED = ROOT / "sandbox" / "data" / "fields_get"
UNCAPTURED = CAPTURED / "uncaptured"


class SourceError(Exception):
    """The addon uses a construct this script does not understand: fail loudly."""


def literal(node, consts):
    """A Python literal, resolving module-level constant names."""
    if isinstance(node, ast.Name) and node.id in consts:
        return consts[node.id]
    return ast.literal_eval(node)


def module_constants(tree):
    consts = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                try:
                    consts[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    pass
    return consts


def default_string(name):
    base = name[:-4] if name.endswith("_ids") else name[:-3] if name.endswith("_id") else name
    return base.replace("_", " ").title()


def parse_default(node, consts):
    """A static default as JSON, or {"dynamic": source} for a callable."""
    try:
        return literal(node, consts)
    except (ValueError, SyntaxError):
        return {"dynamic": ast.unparse(node)}


def parse_field(name, call, consts):
    kind = call.func.attr
    if kind not in FIELD_TYPES:
        raise SourceError(f"field {name}: unknown field class fields.{kind}")
    ftype = FIELD_TYPES[kind]
    kw = {k.arg: k.value for k in call.keywords}
    spec = {"name": name, "type": ftype}
    args = list(call.args)
    if ftype in RELATIONAL:
        if "comodel_name" in kw:
            spec["relation"] = literal(kw["comodel_name"], consts)
        elif args and not "related" in kw:
            spec["relation"] = literal(args.pop(0), consts)
    if ftype == "selection":
        sel = kw.get("selection") or (args.pop(0) if args else None)
        if sel is not None:
            value = literal(sel, consts) if not (
                isinstance(sel, ast.Constant) and isinstance(sel.value, str)
            ) else sel.value
            # A method name: the selection is computed at runtime (ir.model for a Reference).
            spec["selection"] = value if isinstance(value, list) else {"method": value}
    if ftype == "reference":
        sel = kw.get("selection")
        if sel is not None:
            spec["selection"] = {"method": literal(sel, consts)}
    if "string" in kw:
        spec["string"] = literal(kw["string"], consts)
    elif args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
        spec["string"] = args.pop(0).value
    for key in ("required", "readonly", "store", "index", "copy", "precompute", "tracking"):
        if key in kw:
            spec[key] = literal(kw[key], consts)
    for key in ("compute", "related", "inverse_name", "ondelete", "currency_field",
                "groups", "model_field", "relation", "column1", "column2", "aggregator",
                "inverse"):
        if key in kw:
            value = literal(kw[key], consts)
            spec["m2m_table" if key == "relation" else key] = value
    if "digits" in kw:
        spec["digits"] = literal(kw["digits"], consts)
    if "default" in kw:
        spec["default"] = parse_default(kw["default"], consts)
    return spec


CONSTRAINT_RE = re.compile(r"^\s*(UNIQUE|CHECK)\s*\((.*)\)\s*$", re.S | re.I)
ATOM_RE = re.compile(
    r"^\s*(\w+)\s*(?:(IS\s+NOT\s+NULL|IS\s+NULL)|(>=|<=|<>|!=|=|>|<)\s*(-?\d+(?:\.\d+)?))\s*$",
    re.I,
)


def parse_check(sql):
    """``a >= 0 AND a <= 100`` / ``price IS NULL OR price >= 0`` into
    {"any": [{"all": [[field, op, number|null]]}]}; anything else is refused."""
    any_of = []
    for disjunct in re.split(r"\s+OR\s+", sql, flags=re.I):
        all_of = []
        for atom in re.split(r"\s+AND\s+", disjunct, flags=re.I):
            m = ATOM_RE.match(atom)
            if not m:
                raise SourceError(f"CHECK constraint not understood: {sql!r} (atom {atom!r})")
            field, null_test, op, number = m.groups()
            if null_test:
                all_of.append([field, "is not null" if "NOT" in null_test.upper() else "is null", None])
            else:
                all_of.append([field, "!=" if op == "<>" else op, float(number)])
        any_of.append({"all": all_of})
    return {"any": any_of}


def parse_constraint(name, call, consts):
    definition = literal(call.args[0], consts)
    message = literal(call.args[1], consts) if len(call.args) > 1 else ""
    m = CONSTRAINT_RE.match(definition)
    if not m:
        raise SourceError(f"constraint {name}: {definition!r} is neither UNIQUE nor CHECK")
    kind = m.group(1).upper()
    body = m.group(2)
    out = {"name": name, "kind": kind.lower(), "definition": definition, "message": message}
    if kind == "UNIQUE":
        out["fields"] = [c.strip() for c in body.split(",")]
    else:
        out["check"] = parse_check(body)
    return out


def daemon_fields_of(cls, consts):
    """The constant passed to check_daemon_write(...) in the class's write()."""
    for node in cls.body:
        if isinstance(node, ast.FunctionDef) and node.name == "write":
            for sub in ast.walk(node):
                if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name)
                        and sub.func.id == "check_daemon_write" and len(sub.args) == 3):
                    return list(literal(sub.args[2], consts))
    return None


def decorated(fn, decorator):
    for d in fn.decorator_list:
        if isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr == decorator:
            return [ast.literal_eval(a) for a in d.args]
    return None


def parse_models():
    models = {}
    for path in sorted((ADDON / "models").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        consts = module_constants(tree)
        for cls in [n for n in tree.body if isinstance(n, ast.ClassDef)]:
            attrs = {}
            fields = {}
            constraints = []
            for node in cls.body:
                if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                        and isinstance(node.targets[0], ast.Name)):
                    continue
                name = node.targets[0].id
                value = node.value
                if (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                        and isinstance(value.func.value, ast.Name)):
                    owner = value.func.value.id
                    if owner == "fields":
                        fields[name] = parse_field(name, value, consts)
                        continue
                    if owner == "models" and value.func.attr == "Constraint":
                        constraints.append(parse_constraint(name, value, consts))
                        continue
                if name.startswith("_"):
                    try:
                        attrs[name] = literal(value, consts)
                    except (ValueError, SyntaxError):
                        pass
            if not fields and "_name" not in attrs and "_inherit" not in attrs:
                continue
            inherit = attrs.get("_inherit", [])
            inherit = [inherit] if isinstance(inherit, str) else list(inherit)
            name = attrs.get("_name") or (inherit[0] if len(inherit) == 1 else None)
            if not name:
                raise SourceError(f"{path.name}: class {cls.name} has no model name")
            extends = "_name" not in attrs
            checks = []
            computes = {}
            for node in cls.body:
                if isinstance(node, ast.FunctionDef):
                    on = decorated(node, "constrains")
                    if on is not None:
                        checks.append({"method": node.name, "fields": on})
                    deps = decorated(node, "depends")
                    if deps is not None:
                        computes[node.name] = deps
            models[name] = {
                "file": f"models/{path.name}",
                "class": cls.name,
                "extends": extends,
                "description": attrs.get("_description"),
                "mixins": [] if extends else inherit,
                "order": attrs.get("_order"),
                "rec_name": attrs.get("_rec_name"),
                "rec_names_search": attrs.get("_rec_names_search"),
                "fields": fields,
                "constraints": constraints,
                "python_constraints": checks,
                "depends": computes,
                "daemon_fields": daemon_fields_of(cls, consts),
            }
    return models


def parse_access():
    access = {}
    with open(ADDON / "security" / "ir.model.access.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            model_ref = row["model_id:id"]
            module, _, xml = model_ref.rpartition(".")
            model = xml[len("model_"):].replace("_", ".") if xml.startswith("model_") else xml
            group = row["group_id:id"]
            if "." not in group:
                group = f"{MODULE}.{group}"
            perms = {op: row[f"perm_{op}"] == "1" for op in ("read", "write", "create", "unlink")}
            access.setdefault(model, {})[group] = perms
            if module and module != MODULE:
                access[model]["__base_model__"] = True
    return access


def parse_groups():
    text = (ADDON / "security" / "channel_sync_security.xml").read_text(encoding="utf-8")
    privileges = {
        m.group(1): re.search(r'<field name="name">([^<]*)</field>', m.group(2)).group(1)
        for m in re.finditer(
            r'<record id="(\w+)" model="res\.groups\.privilege">(.*?)</record>', text, re.S
        )
    }
    groups = {}
    for m in re.finditer(r'<record id="(\w+)" model="res\.groups">(.*?)</record>', text, re.S):
        xml_id, body = m.groups()
        name = re.search(r'<field name="name">([^<]*)</field>', body).group(1)
        privilege = re.search(r'<field name="privilege_id" ref="(\w+)"', body)
        # Odoo 19 shows a group as "<privilege> / <group>" (res.groups.full_name).
        full_name = f"{privileges[privilege.group(1)]} / {name}" if privilege else name
        implied = re.search(r'name="implied_ids"\s+eval="(.*?)"', body, re.S)
        users = re.search(r'name="user_ids"\s+eval="(.*?)"', body, re.S)

        def refs(match):
            if not match:
                return []
            return [r if "." in r else f"{MODULE}.{r}" for r in re.findall(r"ref\('([\w.]+)'\)", match.group(1))]

        groups[f"{MODULE}.{xml_id}"] = {
            "name": name,
            "full_name": full_name,
            "implied": refs(implied),
            "users": refs(users),
        }
    return groups


def core_description(model):
    """The description of a model the addon extends, from the sandbox's core index."""
    for folder in (CAPTURED, UNCAPTURED):
        index = json.loads((folder / "_index.json").read_text(encoding="utf-8"))
        if model in index:
            return index[model].get("description", model)
    return model


def load_core_schema():
    """The captured / uncaptured fields_get of the models the addon relates to."""
    schema = {}
    for folder in (CAPTURED, UNCAPTURED):
        for path in folder.glob("*.json"):
            if not path.name.startswith("_"):
                schema[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def resolve_related(models, core, model, path):
    """The field a related path ends on, as a (model, field spec) pair."""
    current = model
    spec = None
    for i, step in enumerate(path.split(".")):
        if current in models and step in models[current]["fields"]:
            spec = models[current]["fields"][step]
            if "related" in spec:
                _, spec = resolve_related(models, core, current, spec["related"])
        elif current in core and step in core[current]:
            spec = dict(core[current][step], name=step)
        else:
            raise SourceError(f"related path {path!r} of {model}: {current}.{step} is unknown")
        if i < len(path.split(".")) - 1:
            current = spec.get("relation")
    return current, spec


MAGIC = {
    "id": {"readonly": True, "required": False, "string": "ID", "type": "integer"},
    "display_name": {"readonly": True, "required": False, "string": "Display Name", "type": "char"},
    "create_uid": {"readonly": True, "relation": "res.users", "required": False, "string": "Created by", "type": "many2one"},
    "create_date": {"readonly": True, "required": False, "string": "Created on", "type": "datetime"},
    "write_uid": {"readonly": True, "relation": "res.users", "required": False, "string": "Last Updated by", "type": "many2one"},
    "write_date": {"readonly": True, "required": False, "string": "Last Updated on", "type": "datetime"},
}


def fields_get(models, core, model):
    """fields_get(attributes=[string, type, required, readonly, relation, selection])."""
    info = models[model]
    out = {} if info["extends"] else {k: dict(v) for k, v in MAGIC.items()}
    for name, spec in info["fields"].items():
        target = spec
        if "related" in spec:
            _, target = resolve_related(models, core, model, spec["related"])
        ftype = target["type"]
        entry = {
            "readonly": spec.get("readonly", "related" in spec or ("compute" in spec and "inverse" not in spec)),
            "required": bool(spec.get("required", False)),
            "string": spec.get("string") or (target.get("string") if "related" in spec else None) or default_string(name),
            "type": ftype,
        }
        relation = target.get("relation")
        if ftype in RELATIONAL and relation:
            entry["relation"] = relation
        if ftype in ("selection", "reference"):
            sel = target.get("selection")
            entry["selection"] = [list(p) for p in sel] if isinstance(sel, list) else []
        out[name] = dict(sorted(entry.items()))
    return dict(sorted(out.items()))


def behaviour(models, core, access, groups):
    out = {}
    for model, info in sorted(models.items()):
        computed = []
        related = {}
        stored_computed = []
        defaults = {}
        inverses = {}
        cascade = []
        money = {}
        for name, spec in info["fields"].items():
            if "related" in spec:
                related[name] = {"path": spec["related"], "store": bool(spec.get("store", False))}
            elif "compute" in spec:
                if spec.get("store") and spec.get("readonly") is False:
                    stored_computed.append(name)
                else:
                    computed.append(name)
            if "default" in spec:
                defaults[name] = spec["default"]
            if spec["type"] == "one2many":
                inverses[name] = spec["inverse_name"]
                comodel = models.get(spec["relation"])
                if comodel and comodel["fields"].get(spec["inverse_name"], {}).get("ondelete") == "cascade":
                    cascade.append(name)
            if spec["type"] == "monetary":
                money[name] = spec.get("currency_field", "currency_id")
        ondelete = {
            name: spec["ondelete"]
            for name, spec in info["fields"].items()
            if spec["type"] == "many2one" and "ondelete" in spec
        }
        out[model] = {
            "extends": info["extends"],
            "source": f"odoo_module/{MODULE}/{info['file']} ({info['class']})",
            "description": info["description"],
            "mixins": info["mixins"],
            "order": info["order"],
            "rec_name": info["rec_name"],
            "rec_names_search": info["rec_names_search"],
            "constraints": info["constraints"],
            "python_constraints": info["python_constraints"],
            "defaults": defaults,
            "computed": computed,
            "stored_computed": stored_computed,
            "related": related,
            "inverses": inverses,
            "cascade": cascade,
            "ondelete": ondelete,
            "monetary": money,
            "indexed": sorted(n for n, s in info["fields"].items() if s.get("index") and s["type"] == "many2one"),
            "digits": {n: s["digits"] for n, s in info["fields"].items() if isinstance(s.get("digits"), list)},
            "daemon_fields": info["daemon_fields"],
            "access": {g: p for g, p in access.get(model, {}).items() if not g.startswith("__")},
        }
    extra_access = {
        model: {g: p for g, p in rules.items() if not g.startswith("__")}
        for model, rules in access.items()
        if model not in models
    }
    return {"module": MODULE, "models": out, "access_on_core_models": extra_access, "groups": groups}


def render(value):
    return json.dumps(value, indent=1, ensure_ascii=False, sort_keys=False) + "\n"


def generate():
    models = parse_models()
    core = load_core_schema()
    files = {}
    index = {}
    for model in sorted(models):
        files[f"{model}.json"] = render(fields_get(models, core, model))
        info = models[model]
        index[model] = {
            "captured": False,
            "description": info["description"] or core_description(model),
            "extends": info["extends"],
        }
    files["_index.json"] = render(index)
    files["_behaviour.json"] = render(behaviour(models, core, parse_access(), parse_groups()))
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    options = parser.parse_args()
    try:
        files = generate()
    except SourceError as exc:
        print(f"gen_channel_sync: {exc}", file=sys.stderr)
        return 2
    if options.check:
        problems = []
        for name, text in files.items():
            path = OUT / name
            if not path.exists():
                problems.append(f"{path.relative_to(ROOT)} is missing")
            elif path.read_text(encoding="utf-8") != text:
                old = json.loads(path.read_text(encoding="utf-8"))
                new = json.loads(text)
                problems.append(f"{path.relative_to(ROOT)} differs from the addon source:")
                problems.extend(f"    {line}" for line in diff(old, new))
        for path in sorted(OUT.glob("*.json")):
            if path.name not in files:
                problems.append(f"{path.relative_to(ROOT)} no longer matches any addon model")
        if problems:
            print("the sandbox's channel_sync schema disagrees with odoo_module/channel_sync:")
            print("\n".join(problems))
            print("regenerate with: python3 sandbox/data/tools/gen_channel_sync.py")
            return 1
        print(f"{len(files)} files match odoo_module/{MODULE}")
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (OUT / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files to {OUT.relative_to(ROOT)}")
    return 0


def diff(old, new, prefix=""):
    """Human-readable differences between two JSON values."""
    if isinstance(old, dict) and isinstance(new, dict):
        lines = []
        for key in sorted(set(old) | set(new)):
            where = f"{prefix}.{key}" if prefix else key
            if key not in new:
                lines.append(f"{where}: only in the sandbox data")
            elif key not in old:
                lines.append(f"{where}: only in the addon source")
            else:
                lines.extend(diff(old[key], new[key], where))
        return lines
    if old != new:
        return [f"{prefix}: sandbox {json.dumps(old)[:120]} != addon {json.dumps(new)[:120]}"]
    return []


if __name__ == "__main__":
    sys.exit(main())
