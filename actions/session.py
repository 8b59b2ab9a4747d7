"""A new dialogue session that keeps the conversation memory.

Rasa replays the whole current session for every message, so the gateway starts a new session
every few turns of a long conversation (RASA_SESSION_TURNS). Rasa's own carry-over copies every
SlotSet of the old session into the new one, so each new session would start longer than the
last; this one carries only the memory slots' current values, and a situation check that is
under way (its answers, the question asked and the active form), so a cut never loses it.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.reply import MEMORY_SLOTS
from actions.situation import FORM_SLOTS


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        kept = [
            SlotSet(name, tracker.get_slot(name))
            for name in (*MEMORY_SLOTS, *FORM_SLOTS)
            if tracker.get_slot(name) is not None
        ]
        loop = (tracker.active_loop or {}).get("name")
        active = [ActiveLoop(loop)] if loop else []
        return [SessionStarted(), *kept, *active, ActionExecuted("action_listen")]
