"""Follow-ups on the last answer: 那找谁 / 详细说说 / 还有别的吗."""

from rasa_sdk import Action

from actions.reply import RespondingAction


class ActionAnswerFollowUp(RespondingAction, Action):
    def name(self) -> str:
        return "action_answer_follow_up"
