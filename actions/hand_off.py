"""Turns that leave the plan: a person asked for, out of scope, or not understood."""

from rasa_sdk import Action

from actions.reply import RespondingAction


class ActionHandOff(RespondingAction, Action):
    """The user wants a person: hand off (utter_handoff, meta handoff=true)."""

    def name(self) -> str:
        return "action_hand_off"


class ActionOutOfScope(RespondingAction, Action):
    """Not covered by the plan: say so, cite nothing, point to 12385 / 当地残联."""

    def name(self) -> str:
        return "action_out_of_scope"


class ActionFallback(RespondingAction, Action):
    """nlu_fallback: offer the two best entries, or hand off when nothing fits."""

    def name(self) -> str:
        return "action_fallback"
