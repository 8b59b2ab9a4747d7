"""The words classifier: trained on NLU examples, kept in the model archive, adds its whole
ranking to the parse and leaves DIET's intent alone."""

from __future__ import annotations

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from knowledge.answering.question import WORDS_RANKING
from rasa_plugins.words_classifier import OUTPUT, WordsIntentClassifier

EXAMPLES = {
    "ask_blind_massage": ["盲人按摩怎么考", "盲人医疗按摩考试", "推拿按摩培训", "按摩店开业"],
    "ask_tobacco_permit": ["残疾人办烟草证", "卷烟零售许可", "开个烟酒店", "烟草专卖许可证"],
    "greet": ["你好", "您好啊", "在吗你好", "早上好"],
}


def _tokenizer() -> JiebaTokenizer:
    return JiebaTokenizer(JiebaTokenizer.get_default_config(), None, None)


def _messages(texts: list[str]) -> list[Message]:
    messages = [Message.build(text=t) for t in texts]
    _tokenizer().process(messages)
    return messages


def test_the_key_answering_reads_is_the_one_the_component_writes():
    assert WORDS_RANKING == OUTPUT


def test_trained_saved_loaded_and_ranking_every_intent(tmp_path):
    examples = [Message.build(text=t, intent=i) for i, texts in EXAMPLES.items() for t in texts]
    data = TrainingData(examples)
    _tokenizer().process_training_data(data)
    storage = LocalModelStorage(tmp_path)
    resource = Resource("words")
    context = ExecutionContext(GraphSchema({}), node_name="words")
    config = {"char_min_df": 1}
    WordsIntentClassifier.create(config, storage, resource, context).train(data)

    loaded = WordsIntentClassifier.load(config, storage, resource, context)
    [massage, tobacco] = loaded.process(_messages(["我想学按摩", "怎么办烟草证"]))
    for message, expected in ((massage, "ask_blind_massage"), (tobacco, "ask_tobacco_permit")):
        ranking = message.get(OUTPUT)
        assert ranking[0]["name"] == expected, ranking
        assert {r["name"] for r in ranking} == set(EXAMPLES)
        assert abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-9
        assert ranking == sorted(ranking, key=lambda r: -r["confidence"])
        # A second opinion: DIET's intent is not touched, and the parse shows the ranking.
        assert message.get("intent") is None
        assert OUTPUT in message.as_dict(only_output_properties=True)


def test_an_archive_without_it_parses_without_a_second_opinion(tmp_path):
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), node_name="words")
    component = WordsIntentClassifier.load({}, storage, Resource("missing"), context)
    [message] = component.process(_messages(["你好"]))
    assert message.get(OUTPUT) is None
