"""A message's words in the plan's terms, computed once per process and shared by every reader.

The cues, the ranker, the search index and the decision all need the normalised form of the same
message (看不见 -> 盲人, traditional -> simplified); caching it here means one message is
normalised once, however many of them read it.
"""

from __future__ import annotations

from functools import lru_cache

from knowledge.lexicon import get_lexicon

CACHE_SIZE = 1024


@lru_cache(maxsize=CACHE_SIZE)
def normalize(text: str) -> str:
    """The plan's words for the user's (knowledge/lexicon.yml), traditional -> simplified."""
    return get_lexicon().normalize(text)


@lru_cache(maxsize=CACHE_SIZE)
def simplify(text: str) -> str:
    """Traditional -> simplified characters only, the user's words kept."""
    return get_lexicon().simplify(text)
