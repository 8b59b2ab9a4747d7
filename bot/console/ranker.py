"""The console's way to the knowledge base, and to the chat's own ranking of a caller's words,
so the console's first entry for some words is the entry the chat would cite for them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends

from bot.chat.rasa_client import RasaUnavailable
from bot.deps import ChatServiceDep, KnowledgeOpenerDep, SettingsDep
from knowledge import answering
from knowledge.answering import DecisionMissing, open_decision

# Entries the console shows for some words.
SEARCH_LIMIT = 5


def knowledge(open_knowledge):
    """The knowledge base, or None with the reason when it is not built."""
    try:
        return open_knowledge(), None
    except Exception as exc:  # noqa: BLE001 - shown to the operator as "not available"
        return None, type(exc).__name__


@dataclass
class Ranker:
    """The console's way to the knowledge base and to the chat's ranking of a caller's words."""

    open_knowledge: Callable[[], Any]
    rasa: Any
    decision_model: Path

    def knowledge(self):
        return knowledge(self.open_knowledge)

    async def ranked(self, kb, query: str) -> list:
        """The entry the chat would cite first (Rasa's parse and the fitted decision), then
        the shared ranker's order. Without Rasa or the decision, the ranker alone."""
        try:
            parsed = await self.rasa.parse(query)
        except RasaUnavailable:
            parsed = None
        try:
            decision = open_decision(self.decision_model)
        except DecisionMissing:
            decision = None
        if parsed is None:
            decision = None
        return await asyncio.to_thread(answering.search, kb, query, parsed, decision, SEARCH_LIMIT)


def console_ranker(
    open_knowledge: KnowledgeOpenerDep, chat_service: ChatServiceDep, settings: SettingsDep
) -> Ranker:
    return Ranker(open_knowledge, chat_service.rasa, settings.decision_model)


RankerDep = Annotated[Ranker, Depends(console_ranker)]
