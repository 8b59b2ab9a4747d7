"""The project-built spaCy pipeline and build_all(), built into throwaway folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jieba
import pytest

from knowledge.lexicon import LABELS, get_lexicon, rasa_lookups_yaml, rasa_synonyms_yaml
from knowledge.nlp import TOKENIZER_NAME, build_all, entities, import_spacy
from knowledge.segment import segment

PLAN = Path(__file__).resolve().parents[2] / "knowledge" / "sources" / "hs-2022-60.md"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("nlp")
    return build_all(build_dir=root / "build", nlu_dir=root / "nlu")


@pytest.fixture(scope="module")
def nlp(built):
    return import_spacy().load(built.spacy_pipeline)  # from disk, as Rasa's SpacyNLP loads it


@pytest.fixture(scope="module")
def rasa_jieba(built) -> jieba.Tokenizer:
    """Rasa's JiebaTokenizer with dictionary_path = the built folder, on a fresh tokenizer."""
    tokenizer = jieba.Tokenizer()
    for path in built.jieba_dictionary.parent.glob("*"):
        tokenizer.load_userdict(str(path))
    return tokenizer


def test_build_all_writes_every_artefact(built):
    assert built.jieba_dictionary == built.jieba_dictionary.parent.parent / "jieba" / "lexicon.txt"
    assert (built.spacy_pipeline / "config.cfg").is_file()
    assert TOKENIZER_NAME in (built.spacy_pipeline / "config.cfg").read_text(encoding="utf-8")
    assert built.rasa_synonyms.read_text(encoding="utf-8") == rasa_synonyms_yaml(get_lexicon())
    assert built.rasa_lookups.read_text(encoding="utf-8") == rasa_lookups_yaml(get_lexicon())


def test_spacy_tokenizer_keeps_every_lexicon_word_whole(nlp):
    words = get_lexicon().words()
    broken = [w for w in words if [t.text for t in nlp.make_doc(w)] != [w]]
    assert broken == []


def test_spacy_segment_and_rasa_jieba_agree_on_the_whole_plan(nlp, rasa_jieba):
    """One word list feeds all three segmenters; they must split the plan identically."""
    for line in PLAN.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        spacy_tokens = [t.text for t in nlp.make_doc(line) if not t.is_space]
        segment_tokens = [t for t in segment(line) if not t.isspace()]
        rasa_tokens = [w for w, _, _ in rasa_jieba.tokenize(line) if not w.isspace()]
        assert spacy_tokens == segment_tokens == rasa_tokens, line


def test_ruler_finds_a_department_alias_with_its_canonical_name(nlp):
    assert entities("这个归卫健委管吗", nlp) == [
        {"entity": "department", "value": "市卫健委", "start": 3, "end": 6}
    ]


def test_ruler_reads_traditional_text_through_norms(nlp):
    assert entities("這個歸衛健委管嗎", nlp) == [
        {"entity": "department", "value": "市卫健委", "start": 3, "end": 6}
    ]


def test_ruler_matches_names_that_span_several_tokens(nlp):
    found = entities("各县（市、区）人民政府负责什么", nlp)
    assert found == [
        {"entity": "department", "value": "各县（市、区）人民政府", "start": 0, "end": 11}
    ]


def test_ruler_tags_several_labels_in_one_question(nlp):
    found = entities("我是忙人，听力也不好，能办烟草证吗？", nlp)
    assert [(e["entity"], e["value"]) for e in found] == [
        ("group", "盲人"),
        ("topic", "烟草专卖零售许可证"),
    ]


def test_every_name_of_every_labelled_concept_is_found_alone(nlp):
    missed = []
    for label in LABELS:
        for concept in get_lexicon().concepts(label):
            for name in get_lexicon().entity_names(concept):
                if entities(name, nlp) != [
                    {"entity": label, "value": concept.canonical, "start": 0, "end": len(name)}
                ]:
                    missed.append(name)
    assert missed == []


def test_plan_terms_are_tagged_without_being_rewritten(nlp):
    assert get_lexicon().normalize("残疾人大学生") == "残疾人大学生"
    assert entities("在校残疾人大学生数据", nlp) == [
        {"entity": "group", "value": "高校毕业生", "start": 2, "end": 8}
    ]


def test_plain_words_are_not_entities(nlp):
    assert entities("今天天气怎么样", nlp) == []
    assert entities("吸烟有害健康", nlp) == []


@pytest.mark.slow  # a fresh process loads spaCy (TensorFlow): 6-10 s
def test_pipeline_loads_in_a_fresh_process(built, tmp_path):
    script = (
        "import json, spacy\n"
        f"nlp = spacy.load({str(built.spacy_pipeline)!r})\n"
        "doc = nlp('市场监管局和残联管盲人按摩吗')\n"
        "print(json.dumps([[e.text, e.label_, e.ent_id_] for e in doc.ents], ensure_ascii=False))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        cwd=tmp_path,  # not the repository: the tokenizer must come from the entry point
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        ["市场监管局", "department", "市市场监管局"],
        ["残联", "department", "市残联"],
        ["盲人按摩", "topic", "盲人按摩"],
    ]


def test_default_pipeline_tags_like_the_saved_one(nlp):
    text = "我是聋哑人，想在网上开店，找哪个部门？人社局还是工商联？"
    assert entities(text) == entities(text, nlp)
    assert {e["value"] for e in entities(text)} == {"听力残疾", "网络零售", "市人社局", "市工商联"}


RASA_SCRIPT = """
import json, sys
import jieba
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.nlu.extractors.spacy_entity_extractor import SpacyEntityExtractor
from rasa.shared.nlu.training_data.message import Message

jieba_dir, spacy_dir, text = sys.argv[1:4]
JiebaTokenizer._load_custom_dictionary(jieba_dir)  # what `dictionary_path` does
tokens = [word for word, _, _ in jieba.tokenize(text)]
model = SpacyNLP.load_model(spacy_dir)
SpacyNLP.ensure_proper_language_model(model.model)
message = Message.build(text=text)
message.set("text_spacy_doc", model.model(text))
extractor = SpacyEntityExtractor({"dimensions": ["department", "disability", "group", "topic"]})
[message] = extractor.process([message], model)
found = [[e["entity"], e["value"]] for e in message.get("entities", [])]
print(json.dumps({"tokens": tokens, "entities": found}, ensure_ascii=False))
"""


@pytest.mark.slow  # a fresh process loads Rasa and spaCy: 7-20 s
def test_rasa_components_use_the_built_files(built, tmp_path):
    """Rasa's own loaders: JiebaTokenizer's dictionary_path and SpacyNLP + SpacyEntityExtractor."""
    text = "这个归卫健委管吗，我是忙人"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            RASA_SCRIPT,
            str(built.jieba_dictionary.parent),
            str(built.spacy_pipeline),
            text,
        ],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["tokens"] == segment(text)
    # SpacyEntityExtractor reports the surface text; EntitySynonymMapper maps it with
    # data/nlu/synonyms.yml, which is generated from the same lexicon.
    assert answer["entities"] == [["department", "卫健委"], ["group", "忙人"]]
    synonyms = get_lexicon().rasa_synonyms()
    assert "卫健委" in synonyms["市卫健委"]
    assert "忙人" in synonyms["盲人"]


@pytest.mark.slow
def test_spacy_comes_without_tensorflow_and_tensorflow_still_imports_after():
    """import_spacy hides TensorFlow from thinc only while spaCy loads: the process does not
    pay for TensorFlow, and a later `import tensorflow` (Rasa's) still works."""
    script = (
        "import sys\n"
        "from knowledge.nlp import import_spacy\n"
        "spacy = import_spacy()\n"
        "print('tensorflow' in sys.modules, spacy.blank('zh').lang)\n"
        "import tensorflow\n"
        "print(tensorflow.constant(2).numpy())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "zh", "2"]
