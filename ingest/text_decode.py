"""Bytes of a text file to text: the encodings people's files are really in.

UTF-8 (with or without BOM) first, UTF-16 and UTF-32 by their BOM, then GB18030 (a
superset of GBK and GB2312). GB18030 accepts almost any byte pairs, so two other
encodings come out of it as plausible-looking nonsense, and are told by what that
nonsense looks like:
- Big5 (Traditional Chinese from Taiwan and Hong Kong) read as GB18030 gives kana,
  hangul and private-use characters among the hanzi ("Big5郎 羉砰いゅ代刚"); when the
  Big5 (cp950) reading has fewer of those, it is the one.
- Latin-1 / cp1252 (Western European) read as GB18030 pairs an accented letter with the
  next letter into one hanzi, each alone inside a Latin word ("M黮ler stra遝"); when
  most hanzi sit like that, the text is cp1252.
Anything else goes to charset_normalizer's best guess (a Latin page as cp1252 unless
the language is cp1250's). Never raises on a stray byte:
the best guess is used with replacement characters. NUL characters are dropped.
"""

from __future__ import annotations

import codecs
import re

from ingest.errors import DocumentError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16's: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Kana, hangul and the private-use area: what Big5 read as GB18030 is full of.
_FOREIGN = re.compile(r"[\u3040-\u30ff\u3130-\u318f\uac00-\ud7af\ue000-\uf8ff]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_HAN_IN_A_LATIN_WORD = re.compile(r"(?<=[A-Za-z])[\u4e00-\u9fff](?=[A-Za-z])")
_LATIN_PAGES = {"cp1250", "cp1257", "iso8859_2", "iso8859_10", "iso8859_15", "latin_1"}
_CP1250_LANGUAGES = {"Czech", "Slovak", "Polish", "Hungarian", "Slovene", "Croatian", "Romanian"}
# A declared charset in an HTML file's first bytes (<meta charset=...>, http-equiv).
_DECLARED = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# Declared names read as the superset the files really use.
_SUPERSETS = {
    "utf-8": "utf-8-sig",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "cp950",
    "iso8859-1": "cp1252",
}


def decode_text(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace").replace("\x00", "")
    if b"\x00" in data[:4096]:
        raise DocumentError("looks like a binary file, not text")
    return _decode(data).replace("\x00", "")


def decode_declared(data: bytes) -> str:
    """``decode_text``, but first the charset the document declares (HTML's
    ``<meta charset>``), when it names one Python knows and the bytes fit it."""
    declared = _DECLARED.search(data[:4096])
    if declared and not data.startswith(tuple(bom for bom, _ in _BOMS)):
        try:
            name = codecs.lookup(declared.group(1).decode("ascii")).name
            return data.decode(_SUPERSETS.get(name, name)).replace("\x00", "")
        except (LookupError, UnicodeDecodeError):
            pass  # unknown, or not what the bytes are: guessed like any text
    return decode_text(data)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        foreign = len(_FOREIGN.findall(text))
        if foreign:
            big5 = _strict(data, "cp950")
            if big5 is not None and len(_FOREIGN.findall(big5)) < foreign:
                return big5
        han = len(_HAN.findall(text))
        if han and 2 * len(_HAN_IN_A_LATIN_WORD.findall(text)) > han:
            return data.decode("cp1252", errors="replace")
        return text
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None or not best.encoding:
        return data.decode("utf-8", errors="replace")
    # On a few lines of French or Spanish charset_normalizer ranks cp1250 (Central
    # European) first ("crème" as "crčme"): a Latin page is read as Western unless the
    # text is in a language of cp1250's own.
    western = any(m.encoding == "cp1252" for m in matches)
    if western and best.encoding in _LATIN_PAGES and best.language not in _CP1250_LANGUAGES:
        return data.decode("cp1252", errors="replace")
    return data.decode(best.encoding, errors="replace")


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None
