"""Analysis package for the executable book re-examining Scottish Community Planning.

Every number the book shows is computed here: raw files are verified and parsed by
:mod:`analysis.sources`, joined through the partnership register (:mod:`analysis.register`),
assembled into one tidy panel (:mod:`analysis.panel`) and validated (:mod:`analysis.schemas`).
"""

__version__ = "0.1.0"
