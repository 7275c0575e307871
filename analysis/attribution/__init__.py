"""Designs that test whether a change can be attributed to Community Planning, and their grading.

Every design returns a :class:`~analysis.attribution.base.DesignResult`: an estimate with its
interval and p-value, the minimum detectable effect, and the checks of its assumptions. The rules
in :mod:`analysis.attribution.verdicts` turn a result into one verdict; :mod:`analysis.attribution.ledger`
collects one row per claim.
"""
