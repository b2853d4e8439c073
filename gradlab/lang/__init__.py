"""The languages people write: programs of numbers, vectors and matrices (:mod:`.parse`), formulas typed
by students and teachers (:mod:`.expr`, :mod:`.tensor_expr`: a whitelisted ``ast`` walk that builds SymPy objects,
never ``eval``), and claims about gradients (:mod:`.claims`); what they share is :mod:`.grammar`.
"""
