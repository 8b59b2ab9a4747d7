"""Chinese full-text search over the knowledge base.

SQLite's FTS tokenizers do not split Chinese, so the build indexes jieba-segmented,
space-joined columns (after lexicon normalisation) and queries are segmented the same way.
Ranking is FTS5 bm25 (title weighted over body over departments) scaled by how many of the
query's words an entry covers, so an entry matching every word beats one repeating one word.

A caller's own words often match only words found nearly everywhere (我儿子聋人找工作 -> 听力残疾,
就业): the strict search then finds nothing. `LooseIndex` is the fallback for those (the console
asks for it; answering does not): it scans the entries' normalised text for the query's words,
the dictionary words inside them, related plan words from the lexicon and, for words the
lexicon does not know, their character pairs, ranked bm25-style. It still answers nothing when
the question names nothing of the domain (今天天气怎么样, asdfgh).
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Iterable
from functools import lru_cache

from knowledge import normalized
from knowledge.lexicon import get_lexicon
from knowledge.segment import segment

INDEX_TABLE = "entry_index"
FTS_TABLE = f"{INDEX_TABLE}_fts"
INDEX_COLUMNS = ("title", "body", "departments")
# bm25 weights per indexed column, in INDEX_COLUMNS order.
COLUMN_WEIGHTS = (4.0, 1.0, 0.5)
# Candidates fetched from FTS before re-ranking by coverage.
CANDIDATES = 50
# A target repeats one sentence of an item; on equal words the item is the better answer.
KIND_WEIGHTS = {"target": 0.8}
# Hits below this matched only words found nearly everywhere (就业, 残疾人): not an answer.
MIN_SCORE = 0.01

# Words that carry no policy meaning in questions (or in the plan's boilerplate).
_STOPWORD_TEXT = """
    的 了 吗 呢 吧 啊 呀 嘛 么 哦 哈 嗯 我 你 您 他 她 它 我们 你们 他们 咱 是 有 在 和 与 及 或
    等 就 都 也 还 又 去 来 给 对 把 被 让 跟 从 到 这 那 这个 那个 哪 哪里 哪儿 哪些 什么 怎么
    怎样 怎么样 如何 为什么 多少 几 谁 可以 能 能不能 会 想 要 请问 请 一下 个 些 吗 没有 不 么
    啥 咋 呗 如果 可能 应该 需要 现在 一些 一个 这些 那些 里 上 下 中 之 其 并 将 按 以 为 由 所
    问 说 知道 了解 告诉 帮 帮忙 问问 方案 政策 规定
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_WORD_RE = re.compile(r"\w", re.UNICODE)
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")

# Loose matching: weight of each kind of feature of the query.
LOOSE_WORD = 1.0
LOOSE_RELATED = 0.8
LOOSE_SUBWORD = 0.6
LOOSE_PAIR = 0.4
# A feature found in at most this share of the entries says something on its own.
LOOSE_RARE_SHARE = 1 / 3
# bm25 constants of the loose scan.
_K1, _B = 1.2, 0.75
# Document frequencies kept per index: questions bring any number of words the plan never uses.
DF_CACHE_SIZE = 4096


def tokens(text: str) -> list[str]:
    """Normalised, segmented words of `text`, punctuation and whitespace dropped."""
    return [t.strip() for t in segment(normalized.normalize(text)) if _WORD_RE.search(t)]


def subwords(token: str) -> list[str]:
    """Dictionary words inside a longer token: 残疾人大学生 -> 残疾人, 大学生, 大学 …

    The lexicon keeps the plan's terms whole, so without these a question about 大学生 would
    miss a text that says 残疾人大学生 (and the other way round).
    """
    if len(token) < 3:
        return []
    freq = _dictionary()
    found: dict[str, None] = {}
    # No piece longer than the longest dictionary word can be one: without this bound a long
    # run of letters (aaaa…, a pasted URL) cost its length squared in look-ups.
    for size in range(min(len(token) - 1, _longest_word(get_lexicon().tokenizer)), 1, -1):
        for start in range(len(token) - size + 1):
            piece = token[start : start + size]
            if freq.get(piece):
                found.setdefault(piece, None)
    return list(found)


def _dictionary() -> dict[str, int]:
    tokenizer = get_lexicon().tokenizer
    tokenizer.check_initialized()
    return tokenizer.FREQ


@lru_cache(maxsize=4)
def _longest_word(tokenizer) -> int:
    """Characters in the longest word of a tokenizer's dictionary (its prefixes have count 0)."""
    tokenizer.check_initialized()
    return max((len(word) for word, count in tokenizer.FREQ.items() if count), default=0)


def index_text(text: str) -> str:
    """The form stored in the FTS index: space-joined words, each followed by its subwords."""
    words: list[str] = []
    for token in tokens(text):
        words.append(token)
        words.extend(subwords(token))
    return " ".join(words)


def query_terms(text: str) -> list[str]:
    """Distinct meaningful words of a question, in order."""
    seen: dict[str, None] = {}
    for token in tokens(text):
        if token not in STOPWORDS:
            seen.setdefault(token, None)
    return list(seen)


def fts_query(terms: list[str]) -> str:
    """An FTS5 OR query; every term quoted so no word is read as FTS syntax."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


def search_index(
    conn: sqlite3.Connection,
    query: str,
    limit: int = 5,
    kinds: list[str] | None = None,
    keys: list[str] | None = None,
) -> list[tuple[str, float]]:
    """(key, score) pairs, best first; score > 0, higher is better; [] when nothing matches."""
    terms = query_terms(query)
    if not terms or limit <= 0 or kinds == [] or keys == []:
        return []
    weights = ", ".join(str(w) for w in COLUMN_WEIGHTS)
    sql = (
        f"select i.key, i.kind, i.title, i.body, i.departments, bm25({FTS_TABLE}, {weights}) as rank "
        f"from {FTS_TABLE} join {INDEX_TABLE} i on i.rowid = {FTS_TABLE}.rowid "
        f"where {FTS_TABLE} match ?"
    )
    expanded = list(dict.fromkeys(w for t in terms for w in (t, *subwords(t))))
    params: list = [fts_query(expanded)]
    if kinds is not None:
        sql += f" and i.kind in ({', '.join('?' * len(kinds))})"
        params += list(kinds)
    if keys is not None:
        sql += f" and i.key in ({', '.join('?' * len(keys))})"
        params += list(keys)
    sql += " order by rank limit ?"
    params.append(max(CANDIDATES, limit))
    scored = []
    parts = {term: subwords(term) for term in terms}  # once, not once per row
    rows = conn.execute(sql, params)
    for position, (key, kind, title, body, departments, rank) in enumerate(rows):
        score = -rank * _coverage_boost(parts, _words(title), _words(f"{body} {departments}"))
        score *= KIND_WEIGHTS.get(kind, 1.0)
        if score >= MIN_SCORE:
            scored.append((score, position, key))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [(key, round(score, 6)) for score, _, key in scored[:limit]]


@lru_cache(maxsize=2048)
def _words(indexed: str) -> frozenset[str]:
    """The words of an index column (space-joined); the same entries come back for every
    question, so each is split once."""
    return frozenset(indexed.split())


def _coverage_boost(
    parts: dict[str, list[str]], title_words: frozenset[str], body_words: frozenset[str]
) -> float:
    """Favour entries whose own text has every word of the question (`parts`: each word of the
    question with the dictionary words inside it).

    Items of one action share its heading, so a heading match cannot tell them apart; the
    words an entry's body covers decide between siblings.
    """
    in_body = sum(_covered(t, p, body_words) for t, p in parts.items()) / len(parts)
    in_title = sum(_covered(t, p, title_words) for t, p in parts.items()) / len(parts)
    return 0.2 + in_body + 0.3 * in_title


def _covered(term: str, parts: list[str], words: frozenset[str]) -> float:
    """1 for the word itself; partly, when only the words inside it are there."""
    if term in words:
        return 1.0
    if not parts:
        return 0.0
    return 0.8 * sum(1 for p in parts if p in words) / len(parts)


# -- the loose fallback ----------------------------------------------------------------------


def loose_features(query: str) -> tuple[dict[str, float], set[str]]:
    """(feature -> weight, domain words) of a question for the loose scan.

    Features: the query's words, the dictionary words inside them, the plan words the lexicon
    relates to them, and the character pairs of words the lexicon does not know (a phrase
    jieba split differently from the plan). Domain words are the query's words that the
    lexicon names as a concept with an entity label (听力残疾, 盲人, 市人社局 …).
    """
    lex = get_lexicon()
    known = set(lex.words())
    features: dict[str, float] = {}
    domain: set[str] = set()
    for term in query_terms(query):
        if len(term) < 2:
            continue
        features[term] = LOOSE_WORD
        if lex.label_of(term):
            domain.add(term)
        for word in lex.related.get(term, ()):
            features.setdefault(word, LOOSE_RELATED)
        for part in subwords(term):
            if part not in STOPWORDS:
                features.setdefault(part, LOOSE_SUBWORD)
        if term not in known and len(term) > 2:
            for run in _HAN_RUN.findall(term):
                for i in range(len(run) - 1):
                    pair = run[i : i + 2]
                    if pair not in STOPWORDS:
                        features.setdefault(pair, LOOSE_PAIR)
    return features, domain


class LooseIndex:
    """The entries' normalised text (title, body, departments),
    scanned for the loose fallback. The knowledge base is small (a few dozen entries)."""

    def __init__(self, entries: Iterable[tuple[str, str, str]]) -> None:
        """`entries`: (key, kind, text) with text = title, body and department names."""
        lex = get_lexicon()
        self.kinds: dict[str, str] = {}
        self.texts: dict[str, str] = {}
        for key, kind, text in entries:
            self.kinds[key] = kind
            self.texts[key] = lex.normalize(text)
        self._average = sum(map(len, self.texts.values())) / max(1, len(self.texts))
        self.df = lru_cache(maxsize=DF_CACHE_SIZE)(self._df)

    def _df(self, feature: str) -> int:
        return sum(1 for text in self.texts.values() if feature in text)

    def search(
        self,
        query: str,
        limit: int = 5,
        kinds: list[str] | None = None,
        keys: list[str] | None = None,
    ) -> list[tuple[str, float]]:
        """(key, score) pairs, best first; [] when the question names nothing of the domain."""
        if limit <= 0 or kinds == [] or keys == []:
            return []
        features, domain = loose_features(query)
        n = len(self.texts)
        matched = {f: w for f, w in features.items() if self.df(f)}
        rare = any(self.df(f) <= LOOSE_RARE_SHARE * n for f in matched)
        if not matched or not (domain or rare):
            return []
        allowed = [
            key
            for key in self.texts
            if (kinds is None or self.kinds[key] in kinds) and (keys is None or key in keys)
        ]
        scored = []
        for position, key in enumerate(allowed):
            text = self.texts[key]
            norm = _K1 * (1 - _B + _B * len(text) / self._average)
            score = 0.0
            for feature, weight in matched.items():
                tf = text.count(feature)
                if tf:
                    df = self.df(feature)
                    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                    score += weight * idf * tf * (_K1 + 1) / (tf + norm)
            score *= KIND_WEIGHTS.get(self.kinds[key], 1.0)
            if score > 0:
                scored.append((score, position, key))
        scored.sort(key=lambda s: (-s[0], s[1]))
        return [(key, round(score, 6)) for score, _, key in scored[:limit]]
