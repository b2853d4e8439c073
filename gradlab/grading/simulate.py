"""A synthetic class for demos, tests and benchmarks: responses a class might hand in.

Each student gets a variant and answers every item: mostly right (in different equivalent
spellings: ``^`` or ``**``, ``σ`` or ``sigmoid``, expanded, in the inputs), sometimes with a
generated mistake, sometimes wrong, blank or hostile. Reproducible from the seed.

>>> from gradlab.model.answerkey import AnswerKey
>>> header, rows = simulate_responses(AnswerKey.load("sheets/key.json"), 30, seed=1)   # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import random
from typing import Any

import sympy as sp

from ..lang.expr import parse_expression
from ..model.answerkey import Answer, AnswerKey
from .formulas import strict_names

HOSTILE = ["__import__('os').system('id')", "().__class__.__bases__[0]", "lambda: 1", "9**9**9**9",
           "(" * 300 + "x0" + ")" * 300, "exec('1')", "[x for x in ()]", "f'{x0}'"]


def _matrix_spellings(answer: Answer) -> list[str]:
    """Ways a class writes a right matrix formula: as the key, with ^T or ᵀ, side by side, 0.5* for /2."""
    key = answer.formula or "0"
    forms = [key, key.replace(".T", "^T"), key.replace(".T", "ᵀ"), key.replace(" @ ", " "),
             key.replace(" @ ", "@").replace(".T", "'")]
    if key.endswith(" / 2") or key.endswith("/2"):
        body = key[: key.rindex("/")].strip()
        forms += [f"0.5*({body})", f"1/2 ({body.replace(' @ ', ' ').replace('.T', '^T')})"]
    return forms


def _spellings(answer: Answer, rng: random.Random) -> list[str]:
    if answer.kind == "matrix":
        return _matrix_spellings(answer)
    names = strict_names(answer)
    key = answer.formula or "0"
    expr = parse_expression(key, {n: sp.Symbol(n, real=True) for n in names}, unknown_names=False)
    full = parse_expression(key, names, unknown_names=False)
    forms = [key, key.replace("**", "^"), key.replace("sigmoid", "σ"), key.replace("*", " ").replace("  ", "**"),
             str(sp.expand(expr)), str(full).replace("**", "^"), str(sp.factor_terms(sp.expand(expr)))]
    for alias, target in answer.aliases.items():
        forms.append(key.replace(target, alias) if target.isidentifier() else key)
    return forms


def simulate_responses(key: AnswerKey, students: int, *, seed: int = 0, hostile: float = 0.01,
                       mistakes: float = 0.15, wrong: float = 0.08, blank: float = 0.04) -> tuple[list[str], list[list[str]]]:
    """``students`` rows of answers to ``key`` (header, rows), as a class might hand them in."""
    rng = random.Random(seed)
    items = list(key.items.values())
    vids = list(key.variants)
    spellings: dict[str, list[str]] = {}
    header = ["id", "variant", *[i.id for i in items]]
    rows: list[list[str]] = []
    decimals = key.grading.decimals
    for s in range(students):
        vid = rng.choice(vids)
        row = [f"s{s + 1:04d}", vid]
        for it in items:
            ans = key.variants[vid].answers[it.id]
            r = rng.random()
            if r < blank:
                row.append("")
            elif r < blank + hostile:
                row.append(rng.choice(HOSTILE))
            elif r < blank + hostile + wrong:
                if ans.kind == "matrix":
                    row.append(rng.choice([n for n in ans.shapes] or ["1"]))
                elif ans.formula is not None:
                    row.append(rng.choice(["x0*w0", "a", "1", "exp(z)", "w0 + x0", "σ(z)^2"]))
                else:
                    row.append(f"{rng.uniform(-3, 3):.{decimals}f}")
            elif r < blank + hostile + wrong + mistakes and ans.mistakes:
                m = rng.choice(ans.mistakes)
                row.append(m.formula if m.formula is not None else f"{m.value:.{decimals}f}")
            elif ans.formula is not None:
                forms = spellings.setdefault(f"{it.id}:{ans.formula}", _spellings(ans, rng))
                text = rng.choice(forms)
                if rng.random() < 0.3:  # a personal touch: spaces, a factor of 1, another order
                    text = rng.choice([f" {text} ", f"1*({text})", f"({text})*1", f"{text} + 0", f"--({text})"])
                row.append(text)
            else:
                row.append(f"{float(ans.value):.{decimals}f}")  # type: ignore[arg-type]
        rows.append(row)
    return header, rows


def responses_csv(header: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()
