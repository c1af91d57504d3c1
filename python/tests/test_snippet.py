"""Runs the NumPy-to-RTL snippet of docs/python.md exactly as written there."""

import re

from conftest import ROOT


def snippet() -> str:
    text = (ROOT / "docs" / "python.md").read_text()
    m = re.search(r"<!-- snippet:numpy-to-rtl -->\s*```python\n(.*?)```", text, re.S)
    assert m, "docs/python.md lost its snippet marker"
    return m.group(1)


def test_snippet_is_short_and_runs(capsys):
    code = snippet()
    lines = [ln for ln in code.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert len(lines) < 15, f"the snippet has {len(lines)} lines"
    exec(compile(code, "docs/python.md", "exec"), {"__name__": "snippet"})
    out = capsys.readouterr().out
    assert "cycles" in out
