#!/usr/bin/env python3
"""Static checks of the channel_sync addon, without an Odoo server.

What a fresh install into Odoo 19.0 would reject (or warn about) and that
can be decided from the files alone:

* every model used by a view, action, rule, ACL or cron is either defined
  by the addon (its ``models/*.py``, parsed with ``ast``) or captured from a
  real Odoo 19.0 in ``odoo-reference/19.0/fields_get/<model>.json``;
  anything else fails loudly, naming the model;
* every ``<field name="...">`` in a view exists on the view's model (and on
  the comodel inside a sub-view), and so does every field named by a
  modifier (``invisible=``, ``readonly=``, ``decoration-*``...), a domain, a
  ``group_by``, a ``label for=``, a ``filter date=``;
* every ``<button type="object">`` names a method of the model, every
  ``type="action"`` button, menu and ``ref`` names a record defined earlier
  in the load order (or a known record of a dependency);
* ``ir.model.access.csv`` has Odoo's columns, names real models and groups,
  and every model of the addon has at least one access rule;
* ``related=``, ``@api.depends``, ``inverse_name``, ``currency_field`` and
  comodels of the addon's fields resolve;
* no two fields of a model share a label (Odoo warns about it at install);
* the manifest lists files that exist, and every data file is listed.

Exit status 0 when clean, 1 with one line per problem otherwise.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import re
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

HERE = Path(__file__).resolve().parent
DEFAULT_ADDON = HERE.parent / "channel_sync"
REPO_ROOT = HERE.parent.parent

MAGIC_FIELDS = {
    "id": ("integer", None, "ID"),
    "display_name": ("char", None, "Display Name"),
    "create_uid": ("many2one", "res.users", "Created by"),
    "create_date": ("datetime", None, "Created on"),
    "write_uid": ("many2one", "res.users", "Last Updated by"),
    "write_date": ("datetime", None, "Last Updated on"),
}

# Methods of mail.thread / mail.activity.mixin that views or the daemon call.
MIXIN_METHODS = {
    "mail.thread": {"message_post", "message_subscribe", "message_unsubscribe"},
    "mail.activity.mixin": {"activity_schedule", "activity_feedback"},
}

# Records of the dependencies that the addon refers to. Each one was checked
# in the Odoo 19.0 source (see README, "Odoo 19.0 facts checked"): a new
# external reference must be checked too before it is added here.
EXTERNAL_XMLIDS = {
    # groups
    "base.group_user",
    "base.group_multi_company",
    "base.group_multi_currency",
    "base.user_root",
    "base.user_admin",
    "sales_team.group_sale_salesman",
    "sales_team.group_sale_salesman_all_leads",
    "stock.group_stock_user",
    "account.group_account_invoice",
    # categories
    "base.module_category_sales",
    # records
    "stock.warehouse0",
    # views
    "sale.view_order_form",
    "sale.sale_order_tree",
    "sale.view_sales_order_filter",
    "stock.view_picking_form",
    "stock.vpicktree",
    "stock.view_picking_internal_search",
    "product.product_template_only_form_view",
    "product.product_normal_form_view",
}
# Base models that exist in every Odoo 19 database but whose fields were
# not captured: accepted as comodels, their own fields are not checked.
OPAQUE_MODELS = {"res.company", "res.users", "res.groups", "ir.model", "ir.ui.menu"}

# Names a view expression may use besides field names.
EXPRESSION_NAMES = {
    "True", "False", "None", "uid", "context", "parent", "id", "today", "now",
    "current_date", "context_today", "datetime", "relativedelta", "time",
    "self", "raw_value", "active_id", "active_ids", "active_model",
    "allowed_company_ids", "company_id", "company_ids", "user", "len",
}
MODIFIERS = ("invisible", "readonly", "required", "column_invisible")
# Names whose attributes are not fields of the view's model.
NAMESPACES = ("parent", "context", "datetime", "relativedelta", "time", "user")
SUBVIEW_TAGS = {"list", "form", "kanban", "graph", "pivot", "calendar"}
ACL_HEADER = [
    "id", "name", "model_id:id", "group_id:id",
    "perm_read", "perm_write", "perm_create", "perm_unlink",
]


class Problems(list):
    def add(self, where, message):
        self.append(f"{where}: {message}")


# ---------------------------------------------------------------------------
# Model knowledge
# ---------------------------------------------------------------------------
class Field:
    def __init__(self, name, ftype, comodel=None, string=None, **extra):
        self.name = name
        self.type = ftype
        self.comodel = comodel
        self.string = string
        self.extra = extra

    @property
    def relational(self):
        return self.type in ("many2one", "one2many", "many2many")


class Model:
    def __init__(self, name, own):
        self.name = name
        self.own = own  # defined (created) by the addon
        self.fields: dict[str, Field] = {}
        self.methods: set[str] = set()
        self.mixins: set[str] = set()
        self.sources: list[str] = []


FIELD_TYPES = {
    "Char": "char", "Text": "text", "Html": "html", "Integer": "integer",
    "Float": "float", "Monetary": "monetary", "Boolean": "boolean",
    "Date": "date", "Datetime": "datetime", "Selection": "selection",
    "Many2one": "many2one", "One2many": "one2many", "Many2many": "many2many",
    "Reference": "reference", "Many2oneReference": "many2one_reference",
    "Binary": "binary", "Image": "binary", "Json": "json",
    "Properties": "properties",
}
# Position of the ``string`` argument when given positionally.
STRING_POSITION = {
    "many2one": 1, "one2many": 2, "many2many": 4, "selection": 1,
    "reference": 1,
}


def _const(node):
    return node.value if isinstance(node, ast.Constant) else None


def _str_list(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [elt.value for elt in node.elts if isinstance(elt, ast.Constant)]
    return []


def default_label(name):
    base = name[:-4] if name.endswith("_ids") else name[:-3] if name.endswith("_id") else name
    return base.replace("_", " ").title()


def parse_python_models(addon: Path, problems: Problems):
    """Return {model name: Model} for the classes in models/*.py, plus the
    names of ``@api.depends`` paths to check later."""
    models: dict[str, Model] = {}
    depends: list[tuple[str, str, str]] = []  # (model, path, where)
    for path in sorted((addon / "models").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for cls in [n for n in tree.body if isinstance(n, ast.ClassDef)]:
            attrs = {}
            for stmt in cls.body:
                if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                    target = stmt.targets[0]
                    if isinstance(target, ast.Name):
                        attrs[target.id] = stmt.value
            name_node = attrs.get("_name")
            inherit = _str_list(attrs["_inherit"]) if "_inherit" in attrs else []
            name = _const(name_node) if name_node is not None else None
            if not name and inherit:
                name = inherit[0]
            if not name:
                continue
            own = name_node is not None and name not in inherit
            model = models.setdefault(name, Model(name, own))
            model.own = model.own or own
            model.sources.append(f"{path.name}:{cls.name}")
            model.mixins.update(m for m in inherit if m != name)
            if own and "_description" not in attrs:
                problems.add(f"{path.name}:{cls.name}", f"model {name} has no _description")
            if "_sql_constraints" in attrs:
                problems.add(
                    f"{path.name}:{cls.name}",
                    "_sql_constraints is ignored by Odoo 19: use models.Constraint",
                )
            for stmt in cls.body:
                if isinstance(stmt, ast.FunctionDef):
                    model.methods.add(stmt.name)
                    for deco in stmt.decorator_list:
                        if (
                            isinstance(deco, ast.Call)
                            and isinstance(deco.func, ast.Attribute)
                            and deco.func.attr == "depends"
                        ):
                            for arg in deco.args:
                                if isinstance(_const(arg), str):
                                    depends.append((name, arg.value, f"{path.name}:{stmt.name}"))
                if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
                    continue
                target, value = stmt.targets[0], stmt.value
                if not (
                    isinstance(target, ast.Name)
                    and isinstance(value, ast.Call)
                    and isinstance(value.func, ast.Attribute)
                    and isinstance(value.func.value, ast.Name)
                ):
                    continue
                if value.func.value.id == "models" and value.func.attr == "Constraint":
                    if not target.id.startswith("_"):
                        problems.add(path.name, f"constraint {target.id} must start with '_'")
                    continue
                if value.func.value.id != "fields" or value.func.attr not in FIELD_TYPES:
                    continue
                ftype = FIELD_TYPES[value.func.attr]
                kwargs = {kw.arg: kw.value for kw in value.keywords if kw.arg}
                comodel = _const(kwargs.get("comodel_name")) if "comodel_name" in kwargs else None
                relational = ftype in ("many2one", "one2many", "many2many")
                if relational and comodel is None and value.args:
                    comodel = _const(value.args[0])
                string = _const(kwargs["string"]) if "string" in kwargs else None
                if string is None:
                    position = STRING_POSITION.get(ftype, 0)
                    if len(value.args) > position:
                        string = _const(value.args[position])
                extra = {
                    key: _const(kwargs[key])
                    for key in ("related", "inverse_name", "currency_field", "groups", "compute")
                    if key in kwargs
                }
                if ftype == "one2many" and "inverse_name" not in extra and len(value.args) > 1:
                    extra["inverse_name"] = _const(value.args[1])
                model.fields[target.id] = Field(target.id, ftype, comodel, string, **extra)
    return models, depends


def load_reference(ref_dir: Path | None):
    models: dict[str, Model] = {}
    if not ref_dir or not ref_dir.is_dir():
        return models
    for path in sorted(ref_dir.glob("*.json")):
        if path.name.startswith("_"):
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        model = Model(path.stem, own=False)
        for fname, desc in data.items():
            model.fields[fname] = Field(
                fname, desc.get("type"), desc.get("relation"), desc.get("string")
            )
        models[model.name] = model
    return models


def mixin_fields(reference: dict[str, Model]):
    """mail.thread and mail.activity.mixin fields, taken from a captured
    model that has both (stock.picking), so they are Odoo 19's own."""
    carrier = reference.get("stock.picking")
    thread, activity = {}, {}
    if carrier:
        for fname, field in carrier.fields.items():
            if fname.startswith("message_") or fname in ("has_message", "website_message_ids"):
                thread[fname] = field
            elif fname.startswith("activity_") or fname == "my_activity_date_deadline":
                activity[fname] = field
    return {"mail.thread": thread, "mail.activity.mixin": activity}


class Registry:
    def __init__(self, own: dict[str, Model], reference: dict[str, Model], problems: Problems):
        self.own = own
        self.reference = reference
        self.problems = problems
        self.mixins = mixin_fields(reference)
        self.reference_missing = not reference
        self.models: dict[str, Model] = {}
        for name in set(own) | set(reference):
            merged = Model(name, own=name in own and own[name].own)
            if name in reference:
                merged.fields.update(reference[name].fields)
            if name in own:
                for mixin in own[name].mixins:
                    merged.fields.update(self.mixins.get(mixin, {}))
                    merged.methods |= MIXIN_METHODS.get(mixin, set())
                merged.fields.update(own[name].fields)
                merged.methods |= own[name].methods
                merged.mixins = own[name].mixins
            for fname, (ftype, comodel, string) in MAGIC_FIELDS.items():
                merged.fields.setdefault(fname, Field(fname, ftype, comodel, string))
            self.models[name] = merged
        # product.product inherits the fields of product.template (_inherits)
        if "product.product" in self.models and "product.template" in self.models:
            for fname, field in self.models["product.template"].fields.items():
                self.models["product.product"].fields.setdefault(fname, field)

    def known(self, model_name, where):
        if model_name in self.models or model_name in OPAQUE_MODELS:
            return True
        if self.reference_missing:
            return False  # reported once, as SKIPPED
        self.problems.add(
            where,
            f"model {model_name!r} is neither defined by the addon nor captured in "
            f"odoo-reference/19.0/fields_get/ (capture it or fix the name)",
        )
        return False

    def field(self, model_name, fname):
        model = self.models.get(model_name)
        return model.fields.get(fname) if model else None

    def comodel_of(self, model_name, fname):
        field = self.field(model_name, fname)
        if field is None:
            return None
        if field.comodel:
            return field.comodel
        related = field.extra.get("related")
        if related:
            return self.resolve_path(model_name, related)[1]
        return None

    def resolve_path(self, model_name, path):
        """Follow a dotted path; return (last Field or None, its comodel or
        None, the segment that failed or None)."""
        current = model_name
        field = None
        for segment in path.split("."):
            if current not in self.models:
                return field, None, None  # unknown territory: cannot check further
            field = self.field(current, segment)
            if field is None:
                return None, None, segment
            current = self.comodel_of(current, segment)
        return field, current, None


# ---------------------------------------------------------------------------
# Python-level checks
# ---------------------------------------------------------------------------
def check_python_fields(reg: Registry, own: dict[str, Model], depends, problems: Problems):
    for model_name, model in sorted(own.items()):
        where = f"{model_name} ({', '.join(model.sources)})"
        for fname, field in model.fields.items():
            if field.relational and not field.extra.get("related"):
                if not field.comodel:
                    problems.add(where, f"field {fname}: no comodel_name")
                else:
                    reg.known(field.comodel, f"{where} field {fname}")
            related = field.extra.get("related")
            if related:
                _field, _comodel, bad = reg.resolve_path(model_name, related)
                if bad:
                    problems.add(where, f"field {fname}: related={related!r}: no field {bad!r}")
            inverse = field.extra.get("inverse_name")
            if field.type == "one2many" and field.comodel and inverse:
                if field.comodel in reg.models and reg.field(field.comodel, inverse) is None:
                    problems.add(
                        where, f"field {fname}: inverse_name {inverse!r} not on {field.comodel}"
                    )
            currency = field.extra.get("currency_field")
            if field.type == "monetary":
                currency = currency or "currency_id"
                if reg.field(model_name, currency) is None:
                    problems.add(where, f"field {fname}: currency_field {currency!r} missing")
            compute = field.extra.get("compute")
            if compute and compute not in reg.models[model_name].methods:
                problems.add(where, f"field {fname}: compute method {compute!r} missing")
        for dep_model, path, dwhere in depends:
            if dep_model != model_name:
                continue
            _field, _comodel, bad = reg.resolve_path(model_name, path)
            if bad:
                problems.add(f"{model_name} {dwhere}", f"@api.depends({path!r}): no field {bad!r}")


def field_label(reg: Registry, model_name, field: Field):
    if field.string:
        return field.string
    related = field.extra.get("related")
    if related:
        target, _comodel, _bad = reg.resolve_path(model_name, related)
        if target is not None:
            return target.string or default_label(target.name)
    return default_label(field.name)


def check_labels(reg: Registry, own: dict[str, Model], problems: Problems):
    """Odoo logs 'Two fields (a, b) of model() have the same label' at
    install: refuse it here."""
    for model_name, model in sorted(own.items()):
        labels: dict[str, str] = {}
        merged = reg.models[model_name]
        for fname, field in merged.fields.items():
            if fname in model.fields:
                continue
            labels.setdefault((field.string or default_label(fname)).strip().lower(), fname)
        for fname, field in model.fields.items():
            label = field_label(reg, model_name, field).strip().lower()
            other = labels.get(label)
            if other and other != fname:
                problems.add(
                    model_name,
                    f"fields {other} and {fname} have the same label {label!r}",
                )
            labels[label] = fname


# ---------------------------------------------------------------------------
# XML / CSV checks
# ---------------------------------------------------------------------------
class XmlIds:
    """Record ids in load order."""

    def __init__(self, module):
        self.module = module
        self.defined: dict[str, str] = {}  # local id -> model

    def full(self, xmlid):
        return xmlid if "." in xmlid else f"{self.module}.{xmlid}"

    def define(self, xmlid, model, where, problems: Problems):
        local = xmlid.split(".", 1)[1] if xmlid.startswith(self.module + ".") else xmlid
        if "." in local:
            problems.add(where, f"record {xmlid!r} of another module cannot be defined here")
            return
        if local in self.defined:
            problems.add(where, f"duplicate xml id {local!r}")
        self.defined[local] = model

    def model_of(self, xmlid):
        full = self.full(xmlid)
        module, local = full.split(".", 1)
        if module == self.module:
            return self.defined.get(local)
        return None

    def check(self, xmlid, where, problems: Problems, reg: Registry, expect_model=None):
        full = self.full(xmlid)
        module, local = full.split(".", 1)
        if module == self.module:
            if local.startswith("model_") and local not in self.defined:
                model_name = self.model_from_xmlid(local, reg)
                if model_name:
                    return "ir.model"
            if local not in self.defined:
                problems.add(where, f"ref {xmlid!r} is not defined before it is used")
                return None
            model = self.defined[local]
            if expect_model and model not in expect_model:
                expected = " or ".join(expect_model)
                problems.add(where, f"ref {xmlid!r} is a {model}, expected {expected}")
            return model
        if local.startswith("model_"):
            if self.model_from_xmlid(local, reg, own_only=False) is None:
                problems.add(where, f"ref {xmlid!r}: no such model")
            return "ir.model"
        if full not in EXTERNAL_XMLIDS:
            problems.add(
                where,
                f"external ref {full!r} is not in the checked list (verify it in the "
                "Odoo 19.0 source, then add it to EXTERNAL_XMLIDS)",
            )
        return None

    @staticmethod
    def model_from_xmlid(local, reg: Registry, own_only=True):
        wanted = local[len("model_"):]
        for name, model in reg.models.items():
            if name.replace(".", "_") == wanted and (model.own or not own_only):
                return name
        return None


REF_CALL_RE = re.compile(r"""ref\(\s*['"]([\w.]+)['"]\s*\)""")
PERCENT_REF_RE = re.compile(r"%\(([\w.]+)\)d")


def expression_names(expr, where, problems: Problems):
    """Field-like names an expression reads (attribute access on ``parent``
    is ignored, as Odoo checks it against the parent view)."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        problems.add(where, f"invalid expression {expr!r}: {exc.msg}")
        return set()
    names = set()
    parents = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            parents.add(id(node.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in parents:
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id not in NAMESPACES:
                names.add(node.value.id)
    return names - EXPRESSION_NAMES


def domain_leaves(expr, where, problems: Problems):
    """Field paths of the leaves of a domain expression."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        problems.add(where, f"invalid domain {expr!r}: {exc.msg}")
        return []
    paths = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List)) and len(node.elts) == 3:
            first, operator = node.elts[0], node.elts[1]
            if isinstance(_const(first), str) and isinstance(_const(operator), str):
                paths.append(first.value)
    return paths


def context_group_bys(expr, where, problems: Problems):
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        problems.add(where, f"invalid context {expr!r}: {exc.msg}")
        return [], set()
    group_bys, search_defaults = [], set()
    if isinstance(tree.body, ast.Dict):
        for key, value in zip(tree.body.keys, tree.body.values, strict=True):
            key = _const(key)
            if key == "group_by":
                for item in _str_list(value):
                    group_bys.append(item.split(":")[0])
            elif isinstance(key, str) and key.startswith("search_default_"):
                search_defaults.add(key[len("search_default_"):])
    return group_bys, search_defaults


class ViewChecker:
    def __init__(self, reg: Registry, ids: XmlIds, problems: Problems, groups_ok):
        self.reg = reg
        self.ids = ids
        self.problems = problems
        self.groups_ok = groups_ok
        self.search_names: dict[str, set[str]] = {}  # search view id -> names

    def check_path(self, model, path, where):
        if model not in self.reg.models:
            return
        _field, _comodel, bad = self.reg.resolve_path(model, path)
        if bad:
            self.problems.add(where, f"field {bad!r} (in {path!r}) does not exist on {model}")

    def check_groups(self, value, where):
        for group in value.replace("!", "").split(","):
            group = group.strip()
            if group:
                self.groups_ok(group, where)

    def check_arch(self, arch, model, where, view_id, inherit):
        names = set()
        for child in arch:
            self.walk(child, model, where, names, inherit)
        if view_id and arch is not None:
            self.search_names[view_id] = names

    def walk(self, node, model, where, names, inherit):
        if not isinstance(node.tag, str):
            return
        tag = node.tag
        here = f"{where} <{tag}{' name=' + repr(node.get('name')) if node.get('name') else ''}>"
        if node.get("groups"):
            self.check_groups(node.get("groups"), here)
        for attr in MODIFIERS:
            if node.get(attr) not in (None, "0", "1", "True", "False"):
                for name in expression_names(node.get(attr), here, self.problems):
                    self.check_path(model, name, f"{here} {attr}=")
        for attr, value in node.attrib.items():
            if attr.startswith("decoration-"):
                for name in expression_names(value, here, self.problems):
                    self.check_path(model, name, f"{here} {attr}=")
        if node.get("context") and tag != "filter":
            for name in expression_names(node.get("context"), here, self.problems):
                self.check_path(model, name, f"{here} context=")
        comodel = model
        if tag == "field":
            fname = node.get("name")
            if not fname:
                self.problems.add(here, "field without name")
            elif model in self.reg.models:
                if self.reg.field(model, fname) is None:
                    self.problems.add(here, f"field {fname!r} does not exist on {model}")
                else:
                    comodel = self.reg.comodel_of(model, fname)
            names.add(fname)
            for attr in ("filter_domain", "domain"):
                if node.get(attr):
                    target = model if attr == "filter_domain" else comodel
                    for path in domain_leaves(node.get(attr), here, self.problems):
                        if target:
                            self.check_path(target, path, f"{here} {attr}=")
            for child in node:
                if isinstance(child.tag, str) and child.tag in SUBVIEW_TAGS:
                    if comodel and comodel in self.reg.models:
                        for grandchild in child:
                            self.walk(grandchild, comodel, f"{here} <{child.tag}>", set(), inherit)
                    elif not inherit:
                        self.problems.add(here, "sub-view on a field whose comodel is unknown")
            if node.get("position") is None:
                return
        elif tag == "filter":
            names.add(node.get("name"))
            if node.get("domain"):
                for path in domain_leaves(node.get("domain"), here, self.problems):
                    self.check_path(model, path, f"{here} domain=")
            if node.get("date"):
                self.check_path(model, node.get("date"), f"{here} date=")
            if node.get("context"):
                group_bys, _defaults = context_group_bys(node.get("context"), here, self.problems)
                for path in group_bys:
                    self.check_path(model, path, f"{here} group_by")
        elif tag == "label" and node.get("for"):
            self.check_path(model, node.get("for"), f"{here} for=")
        elif tag == "button":
            self.check_button(node, model, here)
        for child in node:
            self.walk(child, model, where, names, inherit)

    def check_button(self, node, model, here):
        name, btype = node.get("name"), node.get("type")
        if btype == "object" and name and model in self.reg.models:
            if name not in self.reg.models[model].methods:
                if self.reg.models[model].own or model in self.reg.own:
                    self.problems.add(here, f"{name} is not a method of {model}")
                else:
                    self.problems.add(
                        here, f"cannot verify method {name} of standard model {model}"
                    )
            if name.startswith("_"):
                self.problems.add(here, f"private method {name} cannot be a button")
        elif btype == "action" and name:
            match = PERCENT_REF_RE.fullmatch(name)
            xmlid = match.group(1) if match else name
            self.ids.check(
                xmlid, here, self.problems, self.reg, expect_model=("ir.actions.act_window",)
            )


def field_text(record, name):
    for field in record.findall("field"):
        if field.get("name") == name:
            return field
    return None


def check_data_file(path: Path, rel, checker: ViewChecker, ids: XmlIds, reg: Registry,
                    problems: Problems, actions: list):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        problems.add(rel, f"XML not well formed: {exc}")
        return
    if root.tag != "odoo":
        problems.add(rel, f"root element must be <odoo>, not <{root.tag}>")
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        where = f"{rel}:{node.get('id') or node.tag}"
        for attr in ("ref",):
            if node.get(attr):
                ids.check(node.get(attr), where, problems, reg)
        for attr in ("eval", "context"):
            for xmlid in REF_CALL_RE.findall(node.get(attr) or ""):
                ids.check(xmlid, where, problems, reg)
        if node.tag == "record":
            check_record(node, rel, checker, ids, reg, problems, actions)
            if node.get("id"):
                ids.define(node.get("id"), node.get("model"), where, problems)
        elif node.tag == "menuitem":
            check_menu(node, rel, ids, reg, problems, checker)
            ids.define(node.get("id"), "ir.ui.menu", where, problems)


def check_record(record, rel, checker: ViewChecker, ids: XmlIds, reg: Registry,
                 problems: Problems, actions: list):
    model = record.get("model")
    where = f"{rel}:{record.get('id')}"
    if model not in reg.models and model not in (
        "ir.ui.view", "ir.actions.act_window", "ir.rule", "ir.cron",
        "ir.config_parameter", "res.groups", "res.groups.privilege",
        "ir.module.category",
    ):
        reg.known(model, where)
    for field in record.findall("field"):
        fname = field.get("name")
        if model in reg.models and reg.field(model, fname) is None:
            problems.add(where, f"field {fname!r} does not exist on {model}")
    if model == "ir.ui.view":
        target = field_text(record, "model")
        arch = field_text(record, "arch")
        inherit = field_text(record, "inherit_id")
        if target is None or not (target.text or "").strip():
            problems.add(where, "view without a model")
            return
        target_model = target.text.strip()
        if not reg.known(target_model, where):
            return
        if arch is None or len(arch) == 0 or (inherit is None and len(arch) != 1):
            problems.add(where, "a view arch needs one root element")
            return
        root = arch[0]
        if inherit is None:
            if root.tag not in ("form", "list", "kanban", "search", "graph", "pivot",
                                "calendar", "activity"):
                problems.add(where, f"unknown view type <{root.tag}>")
            if root.tag == "tree":
                problems.add(where, "<tree> is <list> since Odoo 17")
            if root.tag == "search" and not list(root.iter("field")):
                problems.add(where, "a search view needs at least one <field>")
            checker.check_arch([root], target_model, where, record.get("id"), inherit=False)
            if root.tag == "form":
                check_form(root, where, problems)
            if root.tag == "kanban":
                templates = root.find("templates")
                if templates is None or not any(
                    t.get("t-name") == "card" for t in templates.findall("t")
                ):
                    problems.add(where, 'a kanban view needs <templates><t t-name="card">')
        else:
            specs = []
            for spec in arch:
                specs.extend(list(spec) if spec.tag == "data" else [spec])
            checker.check_arch(specs, target_model, where, None, inherit=True)
        for node in root.iter():
            if isinstance(node.tag, str) and node.get("attrs"):
                problems.add(where, "attrs= is gone since Odoo 17: use invisible=/readonly=")
            if isinstance(node.tag, str) and node.get("states"):
                problems.add(where, "states= is gone since Odoo 17: use invisible=")
    elif model == "ir.actions.act_window":
        res_model = field_text(record, "res_model")
        if res_model is None or not reg.known(res_model.text.strip(), where):
            return
        res_model = res_model.text.strip()
        search_view = field_text(record, "search_view_id")
        view_mode = field_text(record, "view_mode")
        if view_mode is not None and "tree" in (view_mode.text or "").split(","):
            problems.add(where, "view_mode 'tree' is 'list' since Odoo 17")
        domain = field_text(record, "domain")
        if domain is not None and domain.text:
            for path in domain_leaves(domain.text, where, problems):
                checker.check_path(res_model, path, f"{where} domain")
        context = field_text(record, "context")
        if context is not None and context.text:
            group_bys, defaults = context_group_bys(context.text, where, problems)
            for path in group_bys:
                checker.check_path(res_model, path, f"{where} context group_by")
            search_ref = search_view.get("ref") if search_view is not None else None
            actions.append((where, search_ref, defaults))
    elif model == "ir.rule":
        rule_model = field_text(record, "model_id")
        domain = field_text(record, "domain_force")
        if rule_model is not None and domain is not None:
            name = ids.model_from_xmlid(
                rule_model.get("ref").split(".")[-1], reg, own_only=False
            )
            if name:
                for path in domain_leaves(domain.text, where, problems):
                    checker.check_path(name, path, f"{where} domain_force")
    elif model == "ir.cron":
        cron_model = field_text(record, "model_id")
        code = field_text(record, "code")
        name = ids.model_from_xmlid(cron_model.get("ref").split(".")[-1], reg, own_only=False)
        for method in re.findall(r"model\.(\w+)\(", code.text or ""):
            if name and method not in reg.models[name].methods:
                problems.add(where, f"cron calls {name}.{method}() which does not exist")


def check_form(root, where, problems: Problems):
    for node in root.iter("div"):
        if "oe_chatter" in (node.get("class") or "").split():
            problems.add(where, "use <chatter/> (Odoo 18+), not the oe_chatter div")
    for parent in root.iter():
        for child in parent:
            if child.tag == "page" and parent.tag != "notebook":
                problems.add(where, "<page> outside a <notebook>")


def check_menu(node, rel, ids: XmlIds, reg: Registry, problems: Problems, checker: ViewChecker):
    where = f"{rel}:{node.get('id')}"
    if node.get("action"):
        ids.check(node.get("action"), where, problems, reg,
                  expect_model=("ir.actions.act_window", "ir.actions.server", "ir.actions.client"))
    if node.get("parent"):
        ids.check(node.get("parent"), where, problems, reg, expect_model=("ir.ui.menu",))
    if node.get("groups"):
        checker.check_groups(node.get("groups"), where)
    if node.get("web_icon"):
        module, _sep, icon = node.get("web_icon").partition(",")
        if module != ids.module or not (checker.addon / icon).is_file():
            problems.add(where, f"web_icon {node.get('web_icon')!r} does not exist")
        if node.get("parent"):
            problems.add(where, "web_icon is only used on top-level menus")


def check_acl(path: Path, rel, ids: XmlIds, reg: Registry, problems: Problems, own: dict):
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if not rows or rows[0] != ACL_HEADER:
        problems.add(rel, f"header must be {','.join(ACL_HEADER)}")
        return
    covered = set()
    for number, row in enumerate(rows[1:], start=2):
        where = f"{rel}:{number}"
        if len(row) != len(ACL_HEADER):
            problems.add(where, f"expected {len(ACL_HEADER)} columns, got {len(row)}")
            continue
        record = dict(zip(ACL_HEADER, row, strict=True))
        ids.define(record["id"], "ir.model.access", where, problems)
        model_ref = record["model_id:id"]
        local = model_ref.split(".")[-1]
        model = None
        if local.startswith("model_"):
            model = ids.model_from_xmlid(local, reg, own_only=False)
        if model is None:
            if not reg.reference_missing or "." not in model_ref:
                problems.add(where, f"model {model_ref!r} does not exist")
        else:
            covered.add(model)
            if "." not in model_ref and not reg.models[model].own:
                problems.add(where, f"{model_ref} is not a model of this addon: prefix its module")
        if record["group_id:id"]:
            checker_group(record["group_id:id"], where, ids, reg, problems)
        for perm in ACL_HEADER[4:]:
            if record[perm] not in ("0", "1"):
                problems.add(where, f"{perm} must be 0 or 1")
    for name, model in own.items():
        if model.own and name not in covered:
            problems.add(rel, f"model {name} has no access rule (Odoo warns at install)")


def checker_group(xmlid, where, ids: XmlIds, reg: Registry, problems: Problems):
    model = ids.check(xmlid, where, problems, reg, expect_model=("res.groups",))
    return model


def manifest_of(addon: Path, problems: Problems):
    manifest_path = addon / "__manifest__.py"
    manifest = ast.literal_eval(manifest_path.read_text(encoding="utf-8"))
    for key in ("name", "version", "license", "author", "depends", "data", "installable"):
        if key not in manifest:
            problems.add("__manifest__.py", f"missing key {key!r}")
    if not str(manifest.get("version", "")).startswith("19.0."):
        problems.add("__manifest__.py", "version must start with 19.0.")
    listed = []
    for key in ("data", "demo"):
        for rel in manifest.get(key, []):
            if not (addon / rel).is_file():
                problems.add("__manifest__.py", f"{key} file {rel} does not exist")
            listed.append(rel)
    for folder in ("data", "demo", "security", "views", "report", "wizard"):
        for path in sorted((addon / folder).glob("*")) if (addon / folder).is_dir() else []:
            rel = f"{folder}/{path.name}"
            if path.suffix in (".xml", ".csv") and rel not in listed:
                problems.add("__manifest__.py", f"{rel} is not listed in data or demo")
    return manifest, listed


def find_reference(explicit):
    candidates = []
    if explicit:
        candidates.append(Path(explicit))
    if os.environ.get("ODOO_CHANNELS_SHARED"):
        shared = Path(os.environ["ODOO_CHANNELS_SHARED"])
        candidates.append(shared / "odoo-reference/19.0/fields_get")
    candidates.append(REPO_ROOT.parent / "shared/odoo-reference/19.0/fields_get")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--addon", default=str(DEFAULT_ADDON))
    parser.add_argument("--reference", help="fields_get capture folder")
    args = parser.parse_args(argv)
    addon = Path(args.addon).resolve()
    module = addon.name
    problems = Problems()

    _manifest, listed = manifest_of(addon, problems)
    own, depends = parse_python_models(addon, problems)
    ref_dir = find_reference(args.reference)
    reference = load_reference(ref_dir)
    if not reference:
        print(
            "!!! SKIPPED: odoo-reference/19.0/fields_get not found (set "
            "ODOO_CHANNELS_SHARED or --reference): fields of standard Odoo models "
            "are NOT checked !!!",
            file=sys.stderr,
        )
    else:
        for name, model in own.items():
            if not model.own and name not in reference:
                problems.add(
                    name,
                    f"the addon extends {name!r}, which is not captured in {ref_dir}: "
                    "capture it so its fields can be checked",
                )
    reg = Registry(own, reference, problems)
    check_python_fields(reg, own, depends, problems)
    check_labels(reg, own, problems)

    ids = XmlIds(module)

    def groups_ok(group, where):
        ids.check(group, where, problems, reg, expect_model=("res.groups",))

    checker = ViewChecker(reg, ids, problems, groups_ok)
    checker.addon = addon
    actions = []
    counts = {"xml": 0, "csv": 0}
    for rel in listed:
        path = addon / rel
        if not path.is_file():
            continue
        if path.suffix == ".xml":
            counts["xml"] += 1
            check_data_file(path, rel, checker, ids, reg, problems, actions)
        elif path.suffix == ".csv":
            counts["csv"] += 1
            check_acl(path, rel, ids, reg, problems, own)
    for where, search_ref, defaults in actions:
        if search_ref and defaults:
            names = checker.search_names.get(search_ref.split(".")[-1], set())
            for name in sorted(defaults - names):
                problems.add(
                    where, f"search_default_{name}: no filter or field {name!r} in {search_ref}"
                )

    # every XML file of the addon, listed or not, must be well formed
    for path in sorted(addon.rglob("*.xml")):
        try:
            ET.parse(path)
        except ET.ParseError as exc:
            problems.add(str(path.relative_to(addon)), f"XML not well formed: {exc}")

    if problems:
        print(f"check_views: {len(problems)} problem(s) in {module}:")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(
        f"check_views: {module} OK ({len(own)} models, {counts['xml']} XML and "
        f"{counts['csv']} CSV data files, {len(ids.defined)} records; reference: "
        f"{ref_dir if reference else 'MISSING'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
