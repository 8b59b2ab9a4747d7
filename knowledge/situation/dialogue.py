"""One turn of the situation check: what a message means for the form (a pure function).

The Rasa form `situation_form` asks the facets of knowledge/situations.yml one by one; its
validation action (actions/situation.py) calls `step` with the message and the facet just
asked, and turns the result into slot events and replies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.situation.mapping import SKIPPED
from knowledge.situation.words import Vocabulary, is_question, is_skip, is_stop, read, vocabulary

EMPLOYER = "用人单位"


@dataclass
class Step:
    values: dict[str, str] = field(default_factory=dict)  # facets to fill now
    stop: bool = False  # 算了 / 停: leave the check
    question: bool = False  # a question, not an answer: answer it, then ask again
    said_something: bool = False  # the message itself gave at least one answer

    def answered(self, asked: str | None) -> bool:
        return asked is None or asked in self.values


def step(text: str, asked: str | None, vocab: Vocabulary | None = None) -> Step:
    """What `text` says, as the answer to the question about `asked` (None at the start)."""
    vocab = vocab or vocabulary()
    if is_stop(text, vocab):
        return Step(stop=True)
    if text.startswith("/"):  # a button of an earlier answer: a question about the plan
        return Step(question=True)
    values = read(text, asked, vocab)
    said = bool(values)
    if asked is not None and asked not in values:
        if is_skip(text, vocab):
            values[asked] = SKIPPED
            said = True
        elif is_question(text):
            return Step(values=values, question=True, said_something=said)
    if values.get("asker") == EMPLOYER:
        # An employer is asked nothing about a disability, an age or where they live.
        for facet in vocab.order:
            values.setdefault(facet, vocab.not_asked)
    return Step(values=values, said_something=said)
