"""The project-built spaCy `zh` pipeline and the other NLP files generated from the lexicon.

`build_all()` writes
  * build/jieba/lexicon.txt  - the user dictionary folder for Rasa's JiebaTokenizer,
  * build/spacy_zh/          - a spaCy pipeline: jieba + lexicon tokenizer and an entity_ruler
                               (labels department, disability, group, topic; id = canonical),
  * data/nlu/synonyms.yml and data/nlu/lookups.yml - Rasa synonyms and lookup tables.

spaCy's own zh jieba segmenter uses the global jieba and splits terms it does not know
(卫健委), so the pipeline carries its own tokenizer. The tokenizer saves its word list in
the pipeline folder; `spacy.load("build/spacy_zh")` finds the tokenizer factory through the
`spacy_tokenizers` entry point declared in pyproject.toml.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knowledge.errors import KnowledgeError
from knowledge.jieba_tokenizer import cut, make_tokenizer
from knowledge.lexicon import (
    LABELS,
    RASA_LOOKUPS_PATH,
    RASA_SYNONYMS_PATH,
    Lexicon,
    get_lexicon,
    rasa_lookups_yaml,
    rasa_synonyms_yaml,
)
from knowledge.segment import write_user_dictionary

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / "build"
SPACY_DIR = BUILD_DIR / "spacy_zh"
TOKENIZER_NAME = "hs.lexicon_jieba_tokenizer"  # the entry point name in pyproject.toml
PIPELINE_NAME = "hs_lexicon"


def import_spacy():
    """spaCy, imported on first use: only a knowledge build or a test needs it.

    thinc, under spaCy, imports TensorFlow whenever it is installed (Rasa brings it), only to
    offer TensorFlow layers; this pipeline has none. Hidden while spaCy is imported, spaCy loads
    in 0.8 s instead of 3.2 s on this machine, without TensorFlow's memory. A process that
    already has TensorFlow (Rasa's) imports spaCy as it is.
    """
    if "spacy" in sys.modules or "tensorflow" in sys.modules:
        import spacy  # on first use only (see above)

        return spacy
    sys.modules["tensorflow"] = None  # `import tensorflow` raises ImportError: thinc skips it
    try:
        import spacy  # on first use only, TensorFlow hidden (see above)
    finally:
        del sys.modules["tensorflow"]
    return spacy


# --- the tokenizer --------------------------------------------------------------------------


def create_lexicon_tokenizer() -> Callable[[Language], LexiconTokenizer]:
    """spaCy tokenizer factory (registered as `hs.lexicon_jieba_tokenizer`).

    The tokenizer starts empty; its words come from `set_lexicon` at build time and from
    the pipeline folder when loaded.
    """

    def tokenizer_factory(nlp: Language) -> LexiconTokenizer:
        return LexiconTokenizer(nlp.vocab)

    return tokenizer_factory


class LexiconTokenizer:
    """Segments with a private jieba tokenizer that knows the lexicon words.

    Traditional text is cut like its simplified form, and each token's NORM is the
    simplified text, so the entity ruler (matching on NORM) finds 衛健委 too.
    """

    def __init__(
        self, vocab: Vocab, words: Iterable[str] = (), simplify: dict[str, str] | None = None
    ) -> None:
        self.vocab = vocab
        self.set_lexicon(words, simplify or {})

    def set_lexicon(self, words: Iterable[str], simplify: dict[str, str]) -> None:
        self.words = list(dict.fromkeys(words))
        self.simplify = dict(simplify)
        self._table = str.maketrans(self.simplify)
        self._jieba = None  # built on first use: spacy.load must stay cheap

    def __call__(self, text: str) -> Doc:
        # spaCy is loaded by then (it calls the tokenizer); at the top it would cost every
        # importer of this module about 6 s (spaCy brings TensorFlow), the CLI and build too.
        from spacy.tokens import Doc
        from spacy.util import get_words_and_spaces

        if self._jieba is None:
            self._jieba = make_tokenizer(self.words)
        simplified = text.translate(self._table)
        words, spaces = get_words_and_spaces(cut(self._jieba, text, simplified), text)
        doc = Doc(self.vocab, words=words, spaces=spaces)
        for token in doc:
            token.norm_ = token.text.translate(self._table)
        return doc

    def pipe(self, texts: Iterable[str], batch_size: int = 1000):
        for text in texts:
            yield self(text)

    # spaCy calls these from nlp.to_disk / spacy.load (and the *_bytes pair for pickling).
    def _state(self) -> dict[str, Any]:
        return {"words": self.words, "simplify": self.simplify}

    def to_bytes(self, **kwargs: Any) -> bytes:
        return json.dumps(self._state(), ensure_ascii=False).encode("utf-8")

    def from_bytes(self, data: bytes, **kwargs: Any) -> LexiconTokenizer:
        state = json.loads(data.decode("utf-8"))
        self.set_lexicon(state["words"], state["simplify"])
        return self

    def to_disk(self, path: Path | str, **kwargs: Any) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / "lexicon.json").write_bytes(self.to_bytes())

    def from_disk(self, path: Path | str, **kwargs: Any) -> LexiconTokenizer:
        return self.from_bytes((Path(path) / "lexicon.json").read_bytes())


# --- the pipeline -----------------------------------------------------------------------------


def make_pipeline(lexicon: Lexicon | None = None) -> Language:
    """A blank zh pipeline with the lexicon tokenizer and a lexicon entity_ruler."""
    spacy = import_spacy()
    lexicon = lexicon or get_lexicon()
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER_NAME}}})
    nlp.tokenizer.set_lexicon(lexicon.words(), lexicon.traditional)
    nlp.meta["name"] = PIPELINE_NAME
    nlp.meta["description"] = (
        "jieba + 助残就业 lexicon tokenizer and entity ruler (built by knowledge.nlp)"
    )
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "NORM"})
    ruler.add_patterns(lexicon.entity_patterns())
    return nlp


def build_spacy_pipeline(folder: Path | str = SPACY_DIR, lexicon: Lexicon | None = None) -> Path:
    folder = Path(folder)
    make_pipeline(lexicon).to_disk(folder)
    return folder


@dataclass(frozen=True)
class BuildResult:
    jieba_dictionary: Path
    spacy_pipeline: Path
    rasa_synonyms: Path
    rasa_lookups: Path


def build_all(
    build_dir: Path | str = BUILD_DIR,
    nlu_dir: Path | str | None = None,
    lexicon: Lexicon | None = None,
) -> BuildResult:
    """Write the jieba dictionary, the spaCy pipeline and the Rasa synonym/lookup files."""
    lexicon = lexicon or get_lexicon()
    build_dir = Path(build_dir)
    synonyms = Path(nlu_dir) / RASA_SYNONYMS_PATH.name if nlu_dir else RASA_SYNONYMS_PATH
    lookups = synonyms.with_name(RASA_LOOKUPS_PATH.name)
    synonyms.parent.mkdir(parents=True, exist_ok=True)
    synonyms.write_text(rasa_synonyms_yaml(lexicon), encoding="utf-8")
    lookups.write_text(rasa_lookups_yaml(lexicon), encoding="utf-8")
    return BuildResult(
        jieba_dictionary=write_user_dictionary(build_dir / "jieba", lexicon.words()),
        spacy_pipeline=build_spacy_pipeline(build_dir / "spacy_zh", lexicon),
        rasa_synonyms=synonyms,
        rasa_lookups=lookups,
    )


@lru_cache(maxsize=4)
def load_pipeline(path: Path | str | None = None) -> Language:
    """The lexicon pipeline, once per process.

    Without `path` it is made in memory from the current lexicon (identical to what
    build_all saves, and never stale); with `path`, a saved pipeline is loaded from disk.
    """
    if path is None:
        return make_pipeline()
    return import_spacy().load(Path(path))


def entities(text: str, nlp: Language | None = None) -> list[dict[str, Any]]:
    """Lexicon entities in `text`: [{"entity", "value" (canonical), "start", "end"}]."""
    doc = (nlp or load_pipeline())(text)
    return [
        {"entity": ent.label_, "value": ent.ent_id_, "start": ent.start_char, "end": ent.end_char}
        for ent in doc.ents
        if ent.label_ in LABELS
    ]


# --- the command `python -m knowledge nlp` (or `python -m knowledge.nlp`, named in lexicon.yml)

COMMAND_HELP = "write build/jieba/, build/spacy_zh/ and the Rasa synonym files"


def add_command_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--build-dir", default=None, help="instead of build/")
    parser.add_argument("--nlu-dir", default=None, help="instead of data/nlu/")


def run_command(args: argparse.Namespace) -> int:
    options = {}
    if args.build_dir:
        options["build_dir"] = args.build_dir
    if args.nlu_dir:
        options["nlu_dir"] = args.nlu_dir
    result = build_all(**options)
    for path in (
        result.jieba_dictionary,
        result.spacy_pipeline,
        result.rasa_synonyms,
        result.rasa_lookups,
    ):
        print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m knowledge.nlp`: the same command as `python -m knowledge nlp`."""
    parser = argparse.ArgumentParser(prog="python -m knowledge nlp", description=COMMAND_HELP)
    add_command_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_command(args)
    except (KnowledgeError, OSError, ValueError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
