"""Analysis package for the executable book re-examining Scottish Community Planning.

Every number the book shows is computed here: raw files are verified and parsed by
:mod:`analysis.data.sources`, joined through the partnership register (:mod:`analysis.data.register`),
assembled into one tidy panel (:mod:`analysis.data.panel`) and validated (:mod:`analysis.data.schemas`).
"""

__version__ = "0.1.0"
