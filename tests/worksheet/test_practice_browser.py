"""The practice page in a real headless browser (Playwright driving Debian's Chromium): typing a right and a
wrong answer shows the right feedback, a hint names the gate's rule, "Show the next step" walks the pass.

One browser for the module; the page is opened from a file, offline (every request off the page is refused).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gradlab.ops import OPS
from gradlab.worksheet import find_chromium
from gradlab.worksheet.practice import load_practice_source, practice_page, practice_worksheet

ROOT = Path(__file__).resolve().parents[2]
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is installed by scripts/install.sh (dev)")
pytestmark = pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed (scripts/install.sh)")


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    graph, at = load_practice_source(ROOT / "graphs" / "neuron_sigmoid_gate.toml")
    page = practice_page(practice_worksheet(graph, at=at))
    path = tmp_path_factory.mktemp("practice") / "neuron.html"
    path.write_text(page.html(), encoding="utf-8")
    return path, page


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def tab(browser, page_file):
    path, page = page_file
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    context.route("**/*", lambda route: (requests.append(route.request.url), route.continue_()
                                         if route.request.url.startswith("file:") else route.abort()))
    tab.goto(path.as_uri())
    yield tab, page
    assert not errors, errors  # no script error
    assert all(u.startswith("file:") for u in requests), requests  # nothing fetched from a network
    context.close()


def _blank(page, kind, where_part):
    return next(b for b in page.blanks if b.kind == kind and where_part in b.where)


def test_a_right_and_a_wrong_answer_get_their_feedback_at_once(tab):
    tab, page = tab
    sigma = _blank(page, "gradient", "(σ)")
    n = sigma.number
    tab.fill(f"#box-{n}", sigma.text)  # typed into the box on the picture
    assert tab.text_content(f"#fb-{n}").startswith("Right")
    assert "right" in tab.get_attribute(f"#box-{n}", "class")
    assert tab.input_value(f"#list-{n}") == sigma.text  # the list's box follows
    assert tab.text_content("#score").startswith("1 of 15 right")
    tab.fill(f"#box-{n}", str(round(sigma.answer + 0.004, 3)))  # within the grading tolerance
    assert tab.text_content(f"#fb-{n}").startswith("Right")
    tab.fill(f"#box-{n}", "0.5")  # wrong: the hint is the σ gate's rule, from its op record
    assert tab.text_content(f"#fb-{n}") == "Not right."
    assert tab.text_content(f"#hint-{n}") == f"Hint: {OPS['sigmoid'].hint}."
    assert tab.text_content("#feedback") == f"({n}) Not right. Hint: {OPS['sigmoid'].hint}."  # under the picture
    assert "wrong" in tab.get_attribute(f"#box-{n}", "class")
    assert tab.text_content("#score").startswith("0 of 15 right")


def test_a_generated_mistake_is_named_and_a_rounding_slip_is_told_apart(tab):
    tab, page = tab
    sigma = _blank(page, "gradient", "(σ)")
    output_value = next(b for b in page.blanks if b.kind == "value" and b.where.startswith("the output wire"))
    tab.fill(f"#list-{sigma.number}", output_value.text)  # σ for σ': the σ gate's own mistake
    assert OPS["sigmoid"].output_mistake in tab.text_content(f"#fb-{sigma.number}")
    mul = _blank(page, "gradient", "from x0 into the * gate")
    tab.fill(f"#box-{mul.number}", f"{-mul.answer:.2f}".replace("-", "\u2212"))  # the sign error, Unicode minus
    assert "sign" in tab.text_content(f"#fb-{mul.number}")
    assert tab.text_content(f"#hint-{mul.number}") == f"Hint: {OPS['mul'].hint}."
    tab.fill(f"#box-{mul.number}", f"{mul.answer * 1.03:.4f}")  # 3 % off: close, not within 1 %
    assert "rounding" in tab.text_content(f"#fb-{mul.number}")
    tab.fill(f"#box-{mul.number}", "abc")
    assert "Type a number" in tab.text_content(f"#fb-{mul.number}")


def test_show_the_next_step_walks_the_pass_and_skips_what_is_right(tab):
    tab, page = tab
    first, second, third = page.blanks[:3]
    tab.fill(f"#box-{second.number}", second.text)  # blank (2) is already right: the steps pass it by
    tab.click("#next")
    assert tab.text_content("#step") == f"({first.number}) {first.step}"
    assert tab.input_value(f"#box-{first.number}") == first.text and "shown" in tab.get_attribute(
        f"#box-{first.number}", "class")
    tab.click("#next")
    assert tab.text_content("#step") == f"({third.number}) {third.step}"
    for _ in range(len(page.blanks)):
        tab.click("#next")
    last = page.blanks[-1]
    assert tab.input_value(f"#box-{last.number}") == last.text
    assert tab.text_content("#step") == "Every blank is filled in: the backward pass is complete."
    assert tab.text_content("#score") == f"1 of 15 right, {len(page.blanks) - 1} shown"
    tab.click("#reset")
    assert tab.input_value(f"#box-{last.number}") == "" and tab.text_content("#score") == "0 of 15 right"
