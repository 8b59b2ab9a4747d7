"""Greetings, thanks and goodbyes (domain responses utter_greet / utter_thanks / utter_goodbye)."""

from rasa_sdk import Action

from actions.reply import RespondingAction


class ActionSmallTalk(RespondingAction, Action):
    def name(self) -> str:
        return "action_small_talk"
