"""The engine, each part written once for every graph (a number is the shape-``()`` case): forward values and
reverse accumulation (:mod:`.numeric`), finite differences (:mod:`.finite_diff`), torch autograd
(:mod:`.torch_backend`), the symbolic adjoints (:mod:`.symbolic`, :mod:`.tensor_symbolic`), the matrix forms of
gradients (:mod:`.tensor_forms`, :mod:`.tensor_symmetry`), and when two numbers agree (:mod:`.closeness`).
"""
