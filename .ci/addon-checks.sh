#!/usr/bin/env bash
# Static checks of the Odoo addon odoo_module/channel_sync (no Odoo server
# needed, none installed). Called by .ci/run; runnable alone from anywhere.
#
#   1. pylint + pylint-odoo (OCA rules, valid-odoo-versions=19.0)
#   2. every XML file of odoo_module/ is well formed (lxml)
#   3. odoo_module/tools/check_views.py: views, actions, menus, ACLs, rules,
#      crons, manifest, related fields, labels vs models and Odoo 19 captures
#   4. the checker's own tests (it must be able to fail)
#   5. every .py compiles with CPython 3.10, 3.11 and 3.12
#   6. README.rst renders without a docutils warning (OCA's README check)
#
# The tools live in a cached venv ($CHANNEL_SYNC_VENV, default
# ~/.cache/odoo-channels/addon-venv), rebuilt when the pins below change.
# Exits non-zero if any check fails, after running all of them.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ADDONS="$ROOT/odoo_module"
VENV="${CHANNEL_SYNC_VENV:-$HOME/.cache/odoo-channels/addon-venv}"
# pylint-odoo 10.0.12 is built for pylint 4.0.x / astroid 4.0.x.
PINS="pylint-odoo==10.0.12 pylint==4.0.10 astroid==4.0.4 lxml==6.1.3 docutils==0.21.2"
BASE_PYTHON="${CHANNEL_SYNC_PYTHON:-python3}"

passed=0
failed=0
failures=()

step() { printf '\n==> %s\n' "$*"; }
ok() { passed=$((passed + 1)); printf -- '--> OK: %s\n' "$1"; }
ko() { failed=$((failed + 1)); failures+=("$1"); printf -- '--> FAILED: %s\n' "$1"; }

# --- venv -----------------------------------------------------------------
step "tool venv ($VENV)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$VENV/.pins" 2>/dev/null)" != "$PINS" ]]; then
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    if "$BASE_PYTHON" -m venv "$VENV" \
        && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $PINS; then
        echo "$PINS" > "$VENV/.pins"
    else
        echo "cannot build the tool venv with: $PINS" >&2
        rm -rf "$VENV"
        echo "addon-checks: 0 passed, 1 failed"
        exit 1
    fi
fi
"$VENV/bin/python" -m pylint --version | head -n 3

# --- 1. pylint + pylint-odoo ----------------------------------------------
step "pylint + pylint-odoo (odoo_module/.pylintrc)"
if (cd "$ROOT" && "$VENV/bin/python" -m pylint --rcfile=odoo_module/.pylintrc \
        odoo_module/channel_sync); then
    ok "pylint-odoo clean"
else
    ko "pylint-odoo"
fi
step "pylint on odoo_module/tools (same rules, without the Odoo-specific ones)"
if (cd "$ROOT" && "$VENV/bin/python" -m pylint --rcfile=odoo_module/.pylintrc \
        --disable=odoolint odoo_module/tools); then
    ok "pylint tools clean"
else
    ko "pylint tools"
fi

# --- 2. XML well formed ---------------------------------------------------
step "XML well formed"
if "$VENV/bin/python" - "$ADDONS" <<'PY'
import sys
from pathlib import Path
from lxml import etree

files = sorted(Path(sys.argv[1]).rglob("*.xml"))
bad = 0
for path in files:
    try:
        etree.parse(str(path))
    except etree.XMLSyntaxError as exc:
        bad += 1
        print(f"{path}: {exc}")
print(f"{len(files)} XML files, {bad} malformed")
sys.exit(1 if bad or not files else 0)
PY
then
    ok "XML well formed"
else
    ko "XML well formed"
fi

# --- 3. static view checker -----------------------------------------------
step "static view checker (odoo_module/tools/check_views.py)"
if "$VENV/bin/python" "$ADDONS/tools/check_views.py" --addon "$ADDONS/channel_sync"; then
    ok "check_views"
else
    ko "check_views"
fi

# --- 4. the checker's own tests -------------------------------------------
step "check_views self-tests (odoo_module/tools/test_check_views.py)"
if "$VENV/bin/python" "$ADDONS/tools/test_check_views.py"; then
    ok "check_views self-tests"
else
    ko "check_views self-tests"
fi

# --- 5. byte-compile with 3.10, 3.11, 3.12 --------------------------------
step "byte-compile every .py with CPython 3.10, 3.11, 3.12"
mapfile -t PY_FILES < <(find "$ADDONS" -name '*.py' -not -path '*/__pycache__/*' | sort)
PYCACHE="$(mktemp -d)"
trap 'rm -rf "$PYCACHE"' EXIT
for version in 3.10 3.11 3.12; do
    interpreter=""
    for candidate in "python$version" "$HOME/.pyenv/versions/$version"*/bin/python \
                     "/root/.pyenv/versions/$version"*/bin/python; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$version'.split('.'))))" 2>/dev/null; then
            interpreter="$candidate"
            break
        fi
    done
    if [[ -n "$interpreter" ]]; then
        if PYTHONPYCACHEPREFIX="$PYCACHE/$version" "$interpreter" -m py_compile "${PY_FILES[@]}"; then
            ok "py_compile with $("$interpreter" --version 2>&1) (${#PY_FILES[@]} files)"
        else
            ko "py_compile with Python $version"
        fi
    else
        # No interpreter of that version: check the syntax with the grammar
        # of that version instead (ast feature_version), and say so.
        if "$VENV/bin/python" - "$version" "${PY_FILES[@]}" <<'PY'
import ast
import sys

major, minor = map(int, sys.argv[1].split("."))
bad = 0
for name in sys.argv[2:]:
    try:
        ast.parse(open(name, encoding="utf-8").read(), name, feature_version=(major, minor))
    except SyntaxError as exc:
        bad += 1
        print(f"{name}:{exc.lineno}: {exc.msg}")
sys.exit(1 if bad else 0)
PY
        then
            ok "Python $version not installed: syntax checked with ast feature_version=($version)"
        else
            ko "syntax for Python $version (ast feature_version)"
        fi
    fi
done

# --- 6. README.rst --------------------------------------------------------
step "README.rst renders (docutils)"
if "$VENV/bin/python" - "$ADDONS/channel_sync/README.rst" <<'PY'
import io
import sys

import docutils.core

stream = io.StringIO()
with open(sys.argv[1], encoding="utf-8") as handle:
    docutils.core.publish_string(
        handle.read(),
        writer_name="html",
        settings_overrides={"warning_stream": stream, "report_level": 2, "halt_level": 5},
    )
print(stream.getvalue() or "no docutils warning")
sys.exit(1 if stream.getvalue() else 0)
PY
then
    ok "README.rst renders"
else
    ko "README.rst"
fi

# --- summary --------------------------------------------------------------
echo
if ((failed)); then
    printf 'addon-checks failed: %s\n' "${failures[@]}"
fi
echo "addon-checks: $passed passed, $failed failed"
((failed == 0))
