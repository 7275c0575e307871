"""The partnership profiles: their facts (:mod:`.facts`) and their generated pages (:mod:`.render`)."""

from analysis.pages.profiles.render import write_profiles

__all__ = ["write_profiles"]
