"""A second opinion on the intent: a logistic regression over TF-IDF words and characters.

DIET reads the question one way; a linear model over weighted words (jieba's tokens) and
character n-grams reads it another, and the two disagree on different questions. This
component trains on the same NLU data as DIET and adds its whole ranking to the parse as
`words_intent_ranking`, leaving Rasa's `intent` and `intent_ranking` as DIET made them. The
answer decision (knowledge/answering/decision.py) weighs both; in the cross-validation on the
development set the second opinion took the decision from 0.922 to 0.933 (docs/design.md).
"""

from __future__ import annotations

import logging
import pickle
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

logger = logging.getLogger(__name__)

# knowledge/answering/cues.py WORDS_RANKING reads it from the parse.
OUTPUT = "words_intent_ranking"
_FILE = "words_classifier.pkl"


def _given(tokens: list[str]) -> list[str]:
    """The vectorizer's analyzer: the words are already cut by the tokenizer."""
    return tokens


def _words(message: Message) -> list[str]:
    return [t.text for t in message.get(TOKENS_NAMES[TEXT]) or [] if t.text.strip()]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class WordsIntentClassifier(GraphComponent):
    """Intent probabilities from weighted words and character n-grams (a second opinion)."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # C and the n-gram range were chosen on the development set's cross-validated decision
        # (C in 3, 10, 30: 0.931, 0.933, 0.932); characters seen once are noise.
        return {"C": 10.0, "max_iter": 2000, "char_ngrams": [1, 3], "char_min_df": 2}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource):
        self.config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self.model: tuple[TfidfVectorizer, TfidfVectorizer, LogisticRegression] | None = None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> WordsIntentClassifier:
        return cls(config, model_storage, resource)

    def _matrix(self, messages: list[Message], fit: bool = False):
        words, chars, _ = self.model
        tokens = [_words(m) for m in messages]
        texts = [m.get(TEXT) or "" for m in messages]
        if fit:
            return hstack([words.fit_transform(tokens), chars.fit_transform(texts)]).tocsr()
        return hstack([words.transform(tokens), chars.transform(texts)]).tocsr()

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        low, high = self.config["char_ngrams"]
        self.model = (
            TfidfVectorizer(analyzer=_given, sublinear_tf=True),
            TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=(low, high),
                min_df=self.config["char_min_df"],
                sublinear_tf=True,
            ),
            LogisticRegression(C=self.config["C"], max_iter=self.config["max_iter"]),
        )
        x = self._matrix(examples, fit=True)
        self.model[2].fit(x, [e.get(INTENT) for e in examples])
        with self._storage.write_to(self._resource) as folder:
            (folder / _FILE).write_bytes(pickle.dumps(self.model))
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> WordsIntentClassifier:
        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as folder:
                # Our own training output, inside the model archive we trained.
                component.model = pickle.loads((folder / _FILE).read_bytes())
        except (ValueError, FileNotFoundError):
            logger.warning("WordsIntentClassifier: no trained model in the archive")
        return component

    def process(self, messages: list[Message]) -> list[Message]:
        if self.model is None:
            return messages
        probabilities = self.model[2].predict_proba(self._matrix(messages))
        intents = [str(c) for c in self.model[2].classes_]
        for message, row in zip(messages, probabilities):
            ranking = sorted(
                ({"name": name, "confidence": float(p)} for name, p in zip(intents, row)),
                key=lambda r: -r["confidence"],
            )
            message.set(OUTPUT, ranking, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
