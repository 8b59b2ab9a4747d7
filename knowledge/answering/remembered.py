"""Wordings hotline staff labelled in the review loop, answered as they were labelled.

A retrain teaches Rasa and the decision the labelled questions, but whether one given wording
comes out right afterwards depends on its neighbours, the regularisation and the machine (a
wording labelled item 18 came out as item 1 in a clean clone and as item 18 in the working
tree, with the same code). Staff who labelled "帮残疾人找活的那种老师叫啥" as item 18 expect that
question, asked again, to get item 18. So the decision file carries the labels (fitted with
them and switched with them by a retrain), keyed by the wording with width, case, traditional
characters, spaces and punctuation folded. The held-back check questions are never among them:
the retrain's gate still measures what the model learnt, not what it was told.
"""

from __future__ import annotations

import unicodedata

from knowledge.normalized import simplify

# Labels answered from memory besides the plan's entries (an item, a safeguard, a target, the
# document).
ROUTE_LABELS = frozenset({"out_of_scope", "handoff", "overview"})
# Labels the decision keeps answering: they need the turn's own reading (which subsidy, which
# greeting).
DECIDED_LABELS = frozenset({"clarify", "smalltalk"})


def wording_key(text: str) -> str:
    """One wording, however it is typed: NFKC width and case folded, simplified characters,
    letters and digits only (as the console groups the review queue)."""
    text = simplify(unicodedata.normalize("NFKC", text)).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def remembered_labels(questions: list[dict]) -> dict[str, str]:
    """{wording key: label} of labelled questions in the question-set format ({"q", "expect"});
    a later label of the same wording replaces an earlier one, as a relabel on the console does."""
    labels: dict[str, str] = {}
    for item in questions:
        label, key = item.get("expect"), wording_key(str(item.get("q", "")))
        if isinstance(label, str) and key and label not in DECIDED_LABELS:
            labels[key] = label
    return labels
