"""STACK questions (Moodle's computer-algebra question type) for the symbolic partials of a worksheet.

A symbolic partial graded by STACK instead of by hand: the student types a formula, Maxima checks
it against the key with STACK's ``AlgEquiv`` answer test. The student may use the inputs and the
program's names (``z``, ``a``) and the spec's ASCII aliases: before the test, the potential
response tree's feedback variables put each name's value in the inputs into the answer
(``sa: subst([z = w0*x0 + w2, a = 1/(1+exp(-(w0*x0 + w2)))], ans1)``). Each generated mistake
(a left-out local derivative, σ for σ', a sign error, ...) is a further node of the tree with its
message as feedback and the spec's partial credit. gradlab's own functions become Maxima's
(σ(z) = ``1/(1+exp(-z))``, relu = ``max(0, z)``); a formula Maxima cannot say the same way (a
Heaviside step, a piecewise function) makes :class:`NotMaxima`, and the question stays an essay.

>>> import sympy as sp
>>> from gradlab.ops import sympy_functions
>>> z, w = sp.symbols("z w0", real=True)
>>> maxima(w * sympy_functions().sigmoid(z) * (1 - sympy_functions().sigmoid(z)))
'w0*(1 - 1/(1 + exp(-z)))/(1 + exp(-z))'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy.printing.str import StrPrinter

from ..grading.formulas import strict_names
from ..lang.expr import parse_expression
from ..model.answerkey import MISTAKES, Answer
from ..ops import as_sympy
from .mathtext import esc

#: STACK's version these questions are written for (4.4, the ``stackversion`` of its own exports).
STACK_VERSION = "2023010400"
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class NotMaxima(ValueError):
    """A formula that has no faithful Maxima form here (the question stays an essay)."""


class _MaximaPrinter(StrPrinter):
    """SymPy's plain-text printer with Maxima's spellings (``^``, ``abs``, ``%e``, ``%pi``)."""

    def _print_Pow(self, expr: Any, rational: bool = False) -> str:
        return str(super()._print_Pow(expr, rational)).replace("**", "^")

    def _print_Abs(self, expr: Any) -> str:
        return f"abs({self._print(expr.args[0])})"

    def _print_Max(self, expr: Any) -> str:
        return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Min(self, expr: Any) -> str:
        return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_sign(self, expr: Any) -> str:
        return f"signum({self._print(expr.args[0])})"

    def _print_Exp1(self, expr: Any) -> str:
        return "%e"

    def _print_Pi(self, expr: Any) -> str:
        return "%pi"

    def _print_Float(self, expr: Any) -> str:
        return repr(float(expr))

    def _print_Function(self, expr: Any) -> str:
        name = type(expr).__name__
        if name not in _MAXIMA_FUNCTIONS:
            raise NotMaxima(f"Maxima has no function for {name}")
        return f"{name}(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def emptyPrinter(self, expr: Any) -> str:  # noqa: N802  (SymPy's name)
        raise NotMaxima(f"no Maxima form for {type(expr).__name__}")

    def _print_Piecewise(self, expr: Any) -> str:
        raise NotMaxima("no Maxima form for a piecewise function")

    def _print_Heaviside(self, expr: Any) -> str:
        raise NotMaxima("no Maxima form for a Heaviside step")


#: SymPy functions printed under the same name in Maxima.
_MAXIMA_FUNCTIONS = {"exp", "log", "sin", "cos", "tan", "tanh", "sinh", "cosh", "sqrt", "erf", "asin", "acos", "atan"}


def _own_functions_rewritten(expr: sp.Expr) -> sp.Expr:
    """gradlab's functions (σ, relu, softplus, ...) in SymPy's: their ``exp`` form."""
    return expr.replace(lambda e: isinstance(e, sp.Function) and type(e).__module__ == "gradlab.ops.functions",
                        lambda e: e.rewrite(sp.exp))


def maxima(expr: sp.Expr) -> str:
    """A formula as Maxima reads it (:class:`NotMaxima` when there is no faithful form)."""
    return _MaximaPrinter({"order": "none"}).doprint(_own_functions_rewritten(as_sympy(expr)))


@dataclass
class StackAnswer:
    """What a STACK question needs: the model answer (named form), the key and each mistake in the inputs,
    and the names to substitute, all in Maxima."""

    model: str
    key: str
    names: list[tuple[str, str]]  # (name, its value in the inputs)
    words: list[str]  # every name the student may type
    mistakes: list[tuple[str, str, str]] = field(default_factory=list)  # (id, message, formula in the inputs)


def stack_answer(answer: Answer, named_form: sp.Expr) -> StackAnswer:
    """The Maxima side of a symbolic answer of the key (:class:`NotMaxima` when a formula has none)."""
    names = strict_names(answer)
    subst = [(n, maxima(v)) for n, v in names.items() if n not in answer.inputs and _IDENTIFIER.match(n)]
    key = maxima(parse_expression(str(answer.formula), names, unknown_names=False))
    mistakes = []
    for m in answer.mistakes:
        if m.formula is None:
            continue
        try:
            mistakes.append((m.id, m.message or MISTAKES.get(m.id, m.id),
                             maxima(parse_expression(m.formula, names, unknown_names=False))))
        except NotMaxima:
            continue
    return StackAnswer(maxima(named_form), key, subst, [n for n in names if _IDENTIFIER.match(n)], mistakes)


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _html(tag: str, text: str) -> str:
    return f'<{tag} format="html"><text>{_cdata(text)}</text></{tag}>'


def _node(index: int, sans: str, tans: str, score: float, feedback: str, last: bool) -> str:
    note = f"prt1-{index}"
    true_score = f"{score:.7f}"
    return ("<node>\n"
            f"<name>{index}</name>\n<description>{esc('the key' if index == 0 else feedback[:200])}</description>\n"
            f"<answertest>AlgEquiv</answertest>\n<sans>{sans}</sans>\n<tans>{esc(tans)}</tans>\n<testoptions/>\n"
            "<quiet>0</quiet>\n"
            f"<truescoremode>=</truescoremode>\n<truescore>{true_score}</truescore>\n<truepenalty/>\n"
            f"<truenextnode>-1</truenextnode>\n<trueanswernote>{note}-T</trueanswernote>\n"
            + _html("truefeedback", f"<p>{esc(feedback)}</p>" if feedback else "") + "\n"
            "<falsescoremode>=</falsescoremode>\n<falsescore>0.0000000</falsescore>\n<falsepenalty/>\n"
            f"<falsenextnode>{-1 if last else index + 1}</falsenextnode>\n<falseanswernote>{note}-F</falseanswernote>\n"
            + _html("falsefeedback", "") + "\n</node>")


def stack_question(name: str, idnumber: str, text: str, general: str, points: float, sa: StackAnswer,
                   partial: dict[str, float]) -> str:
    """One ``<question type="stack">``: ``text`` is the question's HTML before the answer box."""
    names = ", ".join(f"{n} = {v}" for n, v in sa.names)
    feedback_vars = (f"sa: subst([{names}], ans1);" if sa.names else "sa: ans1;") + f"\ntb: {sa.key};"
    for i, (_, _, formula) in enumerate(sa.mistakes, start=1):
        feedback_vars += f"\nm{i}: {formula};"
    nodes = [_node(0, "sa", "tb", 1.0, "", not sa.mistakes)]
    for i, (mid, message, _) in enumerate(sa.mistakes, start=1):
        nodes.append(_node(i, "sa", f"m{i}", float(partial.get(mid, 0.0)), message, i == len(sa.mistakes)))
    return (f'<question type="stack">\n<name><text>{esc(name)}</text></name>\n'
            + _html("questiontext", text + "<p>[[input:ans1]] [[validation:ans1]]</p>") + "\n"
            + _html("generalfeedback", general) + "\n"
            + f"<defaultgrade>{points:g}</defaultgrade>\n<penalty>0.1000000</penalty>\n<hidden>0</hidden>\n"
            + f"<idnumber>{esc(idnumber)}</idnumber>\n<stackversion><text>{STACK_VERSION}</text></stackversion>\n"
            + f"<questionvariables><text>{_cdata('ta: ' + sa.model + ';')}</text></questionvariables>\n"
            + _html("specificfeedback", "[[feedback:prt1]]") + "\n"
            + '<questionnote format="html"><text/></questionnote>\n'
            + "<questionsimplify>1</questionsimplify>\n<assumepositive>0</assumepositive>\n<assumereal>1</assumereal>\n"
            + _html("prtcorrect", "<p>Correct answer, well done.</p>") + "\n"
            + _html("prtpartiallycorrect", "<p>Your answer is partially correct.</p>") + "\n"
            + _html("prtincorrect", "<p>Incorrect answer.</p>") + "\n"
            + "<decimals>.</decimals>\n<multiplicationsign>dot</multiplicationsign>\n<sqrtsign>1</sqrtsign>\n"
            + "<complexno>i</complexno>\n<inversetrig>cos-1</inversetrig>\n<logicsymbol>lang</logicsymbol>\n"
            + "<matrixparens>[</matrixparens>\n<variantsselectionseed/>\n"
            + "<input>\n<name>ans1</name>\n<type>algebraic</type>\n<tans>ta</tans>\n<boxsize>30</boxsize>\n"
            + "<strictsyntax>1</strictsyntax>\n<insertstars>1</insertstars>\n<syntaxhint/>\n"
            + "<syntaxattribute>0</syntaxattribute>\n<forbidwords/>\n"
            + f"<allowwords>{esc(', '.join(sa.words))}</allowwords>\n<forbidfloat>0</forbidfloat>\n"
            + "<requirelowestterms>0</requirelowestterms>\n<checkanswertype>0</checkanswertype>\n"
            + "<mustverify>1</mustverify>\n<showvalidation>1</showvalidation>\n<options/>\n</input>\n"
            + "<prt>\n<name>prt1</name>\n<value>1.0000000</value>\n<autosimplify>1</autosimplify>\n"
            + f"<feedbackstyle>1</feedbackstyle>\n<feedbackvariables><text>{_cdata(feedback_vars)}</text>"
            + "</feedbackvariables>\n" + "\n".join(nodes) + "\n</prt>\n"
            + "<qtest>\n<testcase>1</testcase>\n<description>the model answer</description>\n"
            + "<testinput>\n<name>ans1</name>\n<value>ta</value>\n</testinput>\n"
            + "<expected>\n<name>prt1</name>\n<expectedscore>1.0000000</expectedscore>\n"
            + "<expectedpenalty>0.0000000</expectedpenalty>\n<expectedanswernote>prt1-0-T</expectedanswernote>\n"
            + "</expected>\n</qtest>\n</question>")


__all__ = ["maxima", "NotMaxima", "StackAnswer", "stack_answer", "stack_question", "STACK_VERSION"]
