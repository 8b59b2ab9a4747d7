"""action_respond: the one answer to a user turn that is not part of the situation check.

Which kind of reply a turn gets (a quoted entry, a follow-up, the overview, "not covered",
small talk, the hotline) is decided in `knowledge.answering.respond` from Rasa's whole intent
ranking, its entities and the conversation's memory slots; Rasa's rules send every such intent
here (data/rules.yml). What Rasa Core decides itself is the dialogue around it: the situation
check's form (actions/situation.py) and carrying the memory over sessions (actions/session.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.reply import answer_turn, slot_events, utter


class ActionRespond(Action):
    def name(self) -> str:
        return "action_respond"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        # Segmentation, search and the first load of the knowledge base run in a thread, so the
        # action server's one event loop keeps serving other actions and /health meanwhile.
        answer, intent = await asyncio.to_thread(answer_turn, tracker)
        utter(dispatcher, answer, intent)
        return slot_events(tracker, answer)
