"""Questions about the plan: topics, subsidies, departments, items, targets, the document."""

from rasa_sdk import Action

from actions.reply import RespondingAction


class ActionAnswerPolicy(RespondingAction, Action):
    def name(self) -> str:
        return "action_answer_policy"
