"""What people type into a shift planner: names in many scripts, emoji sequences, combining
marks in NFC or NFD, spaces around, text that looks like markup or a template, quotes, and
values at the contract's length limit (and one over it). Hypothesis strategies."""

from __future__ import annotations

import unicodedata

from hypothesis import strategies as st

from e2e.explore.mixing import scatter
from e2e.probes.sentinel import NAME

# A few letters of each script, enough to make names of that script.
SCRIPTS: dict[str, str] = {
    "latin": "ÀÁÂÄÅÆÇÉÈÊËÍÎÏÑÓÒÔÖØŒÚÙÛÜÝßàáâäåæçéèêëíîïñóòôöøœúùûüýÿŁłŠšŽž",
    "cjk": "佐藤鈴木高橋田中伊渡辺山本中村小林加吉松井花子太郎店長調理接客王李張劉陳楊趙黄周",
    "kana": "さとうはなこやまだタナカイチロウアルバイトシフトキッチン",
    "hangul": "김이박최정강조윤장임한오서신권황안송류홍주방",
    "arabic": "محمدأحمدعليفاطمةمطبخنادل",
    "hebrew": "דודשרהמשמרתמטבחמלצר",
    "devanagari": "राजेशप्रियारसोईप्रबंधक",
    "cyrillic": "ИванПетровАннаКухняПовар",
    "greek": "ΝίκοςΕλένηΚουζίναΣεφ",
    "thai": "สมชายครัวพนักงาน",
}
EMOJI = (
    "👩‍🍳",  # woman cook: ZWJ sequence
    "🧑🏽‍🍳",  # cook, medium skin tone
    "👨‍👩‍👧‍👦",  # family
    "👍🏾",
    "🇯🇵",
    "🇰🇷",
    "1️⃣",
    "🏳️‍🌈",
    "❤️",
    "🍣",
)
COMBINING = ("e\u0301", "n\u0303", "a\u0308", "o\u0302\u0323", "Z\u0335\u0321", "\u1100\u1161")
# Text that a careless client would turn into markup or code. The handlers call a sentinel
# that the suite installs in every page, so that content run as script is recorded.
MARKUP = (
    "<b>bold</b>",
    "<i>x</i>",
    "</td><td>cell",
    "<img src=x onerror=\"__ssSentinel('img')\">",
    "<svg onload=\"__ssSentinel('svg')\"></svg>",
    "<script>__ssSentinel('script')</script>",
    "<details open ontoggle=\"__ssSentinel('details')\">",
    "&amp;",
    "&lt;b&gt;",
    "{{7*7}}",
    "${7*7}",
    "<%= 7*7 %>",
    "'; DROP TABLE staff; --",
    '"quoted"',
    "O'Brien",
    "\\n",
)
ASCII_WORDS = ("Sato", "Kim", "Lopez", "Cook", "Server", "Bar", "Night", "Chef")
SEPARATORS = (" ", " ", "・", "-", " · ", "\u3000")
MARKER = NAME  # what a markup value calls when it runs as script


def _script_word(script: str) -> st.SearchStrategy[str]:
    return st.text(alphabet=SCRIPTS[script], min_size=1, max_size=6)


WORDS: tuple[st.SearchStrategy[str], ...] = (
    st.sampled_from(sorted(SCRIPTS)).flatmap(_script_word),
    st.sampled_from(EMOJI),
    st.sampled_from(COMBINING).map(lambda c: "Ren" + c),
    st.sampled_from(MARKUP),
    st.sampled_from(ASCII_WORDS),
)


@st.composite
def _word(draw: st.DrawFn, position: int) -> str:
    """A word of one of the kinds above, each as likely (a one_of would favour the first in
    Hypothesis' early examples): the drawn number is scattered with the word's position."""
    drawn = draw(st.integers(0, 2**20))
    kind = scatter(drawn, position) % len(WORDS)
    return draw(WORDS[kind])


@st.composite
def _phrase(draw: st.DrawFn, limit: int | None) -> str:
    words = [draw(_word(i)) for i in range(draw(st.integers(1, 4)))]
    text = words[0]
    for word in words[1:]:
        text += draw(st.sampled_from(SEPARATORS)) + word
    form = draw(st.sampled_from(("as typed", "NFC", "NFD")))
    if form == "NFC":
        text = unicodedata.normalize("NFC", text)
    elif form == "NFD":
        text = unicodedata.normalize("NFD", text)
    pad = draw(st.sampled_from(("", "", " ", "  ")))
    text = pad + text + draw(st.sampled_from(("", "", " ")))
    if limit is not None and len(text) > limit:
        text = text[:limit].rstrip("\u200d\ufe0f") or text[:1]
    return text


@st.composite
def _at_limit(draw: st.DrawFn, limit: int, over: int) -> str:
    """Exactly `limit + over` characters (code points) of one script with no decomposition."""
    script = draw(st.sampled_from(("cjk", "hangul", "kana", "latin")))
    letters = SCRIPTS[script]
    start = draw(st.integers(0, len(letters) - 1))
    base = (letters[start:] + letters) * (limit // len(letters) + 2)
    return unicodedata.normalize("NFC", base[: limit + over])


def typed_text(limit: int | None) -> st.SearchStrategy[str]:
    """A value a user types into a text field. With the contract's limit known, about one
    value in five is exactly at the limit and one in ten one character over it."""
    phrase = _phrase(limit)
    if limit is None:
        return phrase
    kinds = (phrase,) * 7 + (_at_limit(limit, 0), _at_limit(limit, 0), _at_limit(limit, 1))
    # scattered as the words are (Hypothesis' 0 lands on a phrase)
    return st.integers(0, 2**20).flatmap(lambda drawn: kinds[scatter(drawn, 0) % len(kinds)])


def looks_like_markup(text: str) -> bool:
    return "<" in text or "&" in text


def describe(text: str) -> str:
    """A value as the steps print it: quoted, with its length when long."""
    shown = text if len(text) <= 40 else text[:37] + "..."
    return repr(shown) + (f" ({len(text)} chars)" if len(text) > 40 else "")
