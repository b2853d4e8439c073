"""The examples in docs/ run as written: every ```python block with ``>>>`` prompts is a doctest.

A page opts out with the line ``<!-- doctest: skip -->`` (for examples that need a long run).
Blocks run in a temporary folder, one namespace per page, in order.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

import gradlab

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(p for p in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")] if ">>>" in p.read_text(encoding="utf-8"))
BLOCK = re.compile(r"```(?:python|pycon)\n(.*?)```", re.S)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_on_the_page_run(page: Path, tmp_path, monkeypatch) -> None:
    text = page.read_text(encoding="utf-8")
    if "<!-- doctest: skip -->" in text:
        pytest.skip("page opts out of doctests")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "graphs").symlink_to(ROOT / "graphs")
    source = "\n".join(b for b in BLOCK.findall(text) if ">>>" in b)
    parser = doctest.DocTestParser()
    test = parser.get_doctest(source, {"gradlab": gradlab}, page.name, str(page), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test, out=lambda s: None)
    result = runner.summarize(verbose=False)
    if result.failed:
        report: list[str] = []
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        runner.run(parser.get_doctest(source, {"gradlab": gradlab}, page.name, str(page), 0), out=report.append)
        pytest.fail("".join(report)[:4000])


def test_the_operations_page_has_the_table_the_op_records_make() -> None:
    """docs/operations.md's table is written from the records (python -m gradlab.ops.docs docs/operations.md)."""
    from gradlab.ops.docs import MARK, operations_table

    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert f"{MARK}\n{operations_table()}\n{MARK}" in text, "run: python -m gradlab.ops.docs docs/operations.md"
    assert all(f"| `{name}` |" in text for name in gradlab.OPS)