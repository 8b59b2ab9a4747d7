"""One user turn as answering sees it: the words, the part that asks, and what Rasa made of them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge import relevance

# Where the parse carries the second opinion (rasa_plugins/words_classifier.py OUTPUT).
WORDS_RANKING = "words_intent_ranking"
# A story: long enough to tell a situation, not only ask (questions-people-ask.md: 40-140).
STORY_LENGTH = 40

# A story tells a situation and then asks: "一个月好几百", "做了几年", "残联打电话来" in the telling
# are not what is asked. The asking part is the sentences with a question mark, else those with
# a question word, and of a long sentence its clauses with a question word; a run-on story
# without either is asked whole.
_SENTENCES = re.compile(r"[^。！？!?；;…\n]+[。！？!?；;…\n]*")
_QUESTION_MARK = re.compile(r"[?？]")
# Clauses of a sentence; a story told in commas asks in one of them (cross-validated misses on
# 3,764 development questions: 212 asking by sentences, 197 by clauses).
_CLAUSES = re.compile(r"[^，,、：:]+[，,、：:]*")
_QUESTION_WORD = re.compile(
    r"吗|请问|想问|想知道|能不能|能否|可不可以|可以不|行不行|有没有|有冇得|是不是|要不要|"
    r"怎么|怎样|么样|如何|咋|哪个|哪些|哪里|什么|啥|多少|几多|谁"
)


def asking_part(said: str) -> str:
    """The sentences (or clauses) of a story that ask (all of a shorter question)."""
    if len(said) < STORY_LENGTH:
        return said
    sentences = _SENTENCES.findall(said)
    for test in (_QUESTION_MARK, _QUESTION_WORD):
        asking = [s for s in sentences if test.search(s)]
        if asking:
            return "".join(_asking_clauses(s) for s in asking)
    return said


def _asking_clauses(sentence: str) -> str:
    """A long sentence's clauses with a question word (想办个执照，…，有么样扶持？ asks the
    last); the sentence whole when no clause has one, or it is short."""
    if len(sentence) < STORY_LENGTH:
        return sentence
    clauses = _CLAUSES.findall(sentence)
    asking = [c for c in clauses if _QUESTION_WORD.search(c)]
    return "".join(asking) if asking else sentence


@dataclass(frozen=True)
class Question:
    """One user turn as answering sees it: the words, and what Rasa made of them."""

    text: str
    said: str  # the words, "" for a button payload ("/ask_item{...}")
    normalized: str  # the plan's words (看不见 -> 盲人), traditional -> simplified
    intent: str  # Rasa's top intent
    confidence: float
    ranking: tuple[tuple[str, float], ...]  # Rasa's whole intent ranking, best first
    entities: dict[str, list[str]]
    # The sentences that ask (`asking_part`), as said and in the plan's words.
    asked: str = ""
    asked_normalized: str = ""
    # The second opinion (rasa_plugins/words_classifier.py), best first; DIET's ranking when
    # the parse has none (an older model), i.e. a second opinion that agrees.
    words_ranking: tuple[tuple[str, float], ...] = ()

    @classmethod
    def of(
        cls,
        text: str,
        intent: str | None,
        confidence: float | None,
        entities: list[dict] | None = None,
        ranking: list[dict] | None = None,
        words_ranking: list[dict] | None = None,
    ) -> Question:
        values: dict[str, list[str]] = {}
        for e in entities or []:
            if e.get("entity") and e.get("value") is not None:
                values.setdefault(e["entity"], []).append(str(e["value"]))
        said = "" if text.strip().startswith("/") else text
        pairs = _pairs(ranking)
        if not pairs and intent:
            pairs = [(intent, float(confidence or 0.0))]
        top_name, top_confidence = pairs[0] if pairs else (None, 0.0)
        normalized = relevance.normalize(said)
        asked = asking_part(said)
        return cls(
            text=text,
            said=said,
            normalized=normalized,
            asked=asked,
            asked_normalized=normalized if asked == said else relevance.normalize(asked),
            intent=intent or top_name or "nlu_fallback",
            confidence=float(confidence) if confidence is not None else top_confidence,
            ranking=tuple(pairs),
            entities=values,
            words_ranking=tuple(_pairs(words_ranking) or pairs),
        )

    @property
    def is_payload(self) -> bool:
        return not self.said

    def probability(self, intent: str) -> float:
        return next((c for name, c in self.ranking if name == intent), 0.0)


def _pairs(ranking: list[dict] | None) -> list[tuple[str, float]]:
    return [
        (str(r["name"]), float(r.get("confidence") or 0.0)) for r in ranking or [] if r.get("name")
    ]
