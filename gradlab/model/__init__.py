"""The data models everything else reads: the computational graph (:mod:`.graph`), network layers with their
shapes and parameter counts (:mod:`.networks`), and answer keys (:mod:`.answerkey`).

Plain data and its rules; no SymPy, no torch on import.
"""
