"""What the bridge remembers per conversation: the last numbered choices, the parts not yet
shown ("更多"), the last answer's easy-read summaries ("说简单点"), and an answer that could not
be delivered in time.

In memory, keyed by the hashed conversation id, bounded in size and age: a restart forgets
pending choices, which costs a user one repeated question, never a wrong answer. With REDIS_URL
the same methods keep it in Redis for every worker (bot/wechat/shared_state.py RedisSessions);
they are coroutines for that reason.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field

from bot.wechat.phone_text import Choice, Outcome, PhoneAnswer, paginate

MAX_CONVERSATIONS = 10_000
MAX_AGE_SECONDS = 24 * 3600


@dataclass
class Session:
    choices: list[Choice] = field(default_factory=list)
    more_parts: list[str] = field(default_factory=list)
    plain: str = ""  # the last answer's easy-read summaries, "" when it cited none
    pending: Outcome | None = None
    touched: float = field(default_factory=time.monotonic)


class Sessions:
    def __init__(
        self, max_conversations: int = MAX_CONVERSATIONS, max_age: float = MAX_AGE_SECONDS
    ):
        self._items: OrderedDict[str, Session] = OrderedDict()
        self._max = max_conversations
        self._max_age = max_age

    def get(self, conversation_id: str) -> Session:
        session = self._items.get(conversation_id)
        now = time.monotonic()
        if session is None or now - session.touched > self._max_age:
            session = Session()
        session.touched = now
        self._items[conversation_id] = session
        self._items.move_to_end(conversation_id)
        while len(self._items) > self._max:
            self._items.popitem(last=False)
        return session

    def __len__(self) -> int:
        return len(self._items)

    async def shown(self, conversation_id: str, answer: PhoneAnswer) -> str:
        """Record that `answer` is being shown now; return its first part (the rest wait for 更多)."""
        session = self.get(conversation_id)
        parts = paginate(answer.text)
        session.more_parts = parts[1:]
        if answer.choices:
            session.choices = list(answer.choices)
        session.plain = answer.plain
        return parts[0]

    async def plain(self, conversation_id: str) -> str:
        """The easy-read summaries of the last answer shown ("" if it had none)."""
        return self.get(conversation_id).plain

    async def next_part(self, conversation_id: str) -> str | None:
        session = self.get(conversation_id)
        return session.more_parts.pop(0) if session.more_parts else None

    async def choice(self, conversation_id: str, number: int) -> Choice | None:
        choices = self.get(conversation_id).choices
        return choices[number - 1] if 1 <= number <= len(choices) else None

    async def keep_pending(self, conversation_id: str, outcome: Outcome) -> None:
        self.get(conversation_id).pending = outcome

    async def take_pending(self, conversation_id: str) -> Outcome | None:
        session = self.get(conversation_id)
        pending, session.pending = session.pending, None
        return pending
