"""Checks: do the methods agree (:mod:`.gradients`, a pipeline of named steps with one report type,
:mod:`.results`, printed by :mod:`.report`; kinks in :mod:`.kinks`, which gate is wrong in :mod:`.blame`), is a
claimed formula right (:mod:`.verify`), and graph files with their expected values (:mod:`.graphfile`).
"""
