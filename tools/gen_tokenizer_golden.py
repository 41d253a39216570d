#!/usr/bin/python3
"""Independent Python reference of CLIP's BPE tokenizer (shared/design/CLIP.md §4) and the golden ids for
tests/unit/tokenizer (tests/data/tokenizer/golden.json).

Run from the repository root with Debian's Python (needs python3-regex; ftfy is not used, its default
steps other than mojibake repair are re-implemented below):
    /usr/bin/python3 tools/gen_tokenizer_golden.py
The vocabulary and the ADE-847 names are read from the vendored copies in third_party/.
"""
import gzip
import html
import json
import os
import re
import sys
import unicodedata

import regex

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VOCAB = os.path.join(ROOT, "third_party", "clip", "bpe_simple_vocab_16e6.txt.gz")
ADE847 = os.path.join(ROOT, "third_party", "catseg", "ade847.json")
OUT = os.path.join(ROOT, "tests", "data", "tokenizer", "golden.json")

START, END = "<|startoftext|>", "<|endoftext|>"


# ---------------------------------------------------------------- byte <-> unicode characters
def byte_chars():
    """The 256 (byte, character) pairs in vocabulary order."""
    printable = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    pairs = [(b, chr(b)) for b in printable]
    extra = 0
    for b in range(256):
        if b not in printable:
            pairs.append((b, chr(256 + extra)))
            extra += 1
    return pairs


# ---------------------------------------------------------------- cleaning (ftfy subset + html + whitespace)
def _html_entities_ftfy():
    table = {}
    for name, value in html.entities.html5.items():
        if not name.endswith(";"):
            continue
        table["&" + name] = value
        if name == name.lower():
            upper = "&" + name.upper()
            if html.unescape(upper) == upper:
                table[upper] = value.upper()
    return table


FTFY_ENTITIES = _html_entities_ftfy()
FTFY_ENTITY_RE = regex.compile(r"&#?[0-9A-Za-z]{1,24};")


def ftfy_unescape(text):
    def one(match):
        t = match.group(0)
        if t in FTFY_ENTITIES:
            return FTFY_ENTITIES[t]
        if t.startswith("&#"):
            out = html.unescape(t)
            return t if ";" in out else out
        return t

    return FTFY_ENTITY_RE.sub(one, text)


def c1_to_cp1252(text):
    out = []
    for ch in text:
        if 0x80 <= ord(ch) <= 0x9F:
            try:
                ch = bytes([ord(ch)]).decode("cp1252")
            except UnicodeDecodeError:
                pass  # undefined in Windows-1252: ftfy's sloppy codec keeps the C1 character
        out.append(ch)
    return "".join(out)


LIGATURES = {
    "\u0132": "IJ", "\u0133": "ij", "\u0149": "\u02bcn", "\u01f1": "DZ", "\u01f2": "Dz", "\u01f3": "dz",
    "\u01c4": "D\u017d", "\u01c5": "D\u017e", "\u01c6": "d\u017e", "\u01c7": "LJ", "\u01c8": "Lj",
    "\u01c9": "lj", "\u01ca": "NJ", "\u01cb": "Nj", "\u01cc": "nj", "\ufb00": "ff", "\ufb01": "fi",
    "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "\u017ft", "\ufb06": "st",
}


def fix_width(text):
    out = []
    for ch in text:
        if ch == "\u3000":
            ch = " "
        elif 0xFF01 <= ord(ch) <= 0xFFEF:
            ch = unicodedata.normalize("NFKC", ch)
        out.append(ch)
    return "".join(out)


def uncurl(text):
    text = regex.sub("[\u201c-\u201f]", '"', text)
    return regex.sub("[\u02bc\u2018-\u201b]", "'", text)


def line_breaks(text):
    for old in ("\r\n", "\r", "\u2028", "\u2029", "\u0085"):
        text = text.replace(old, "\n")
    return text


ANSI = re.compile("\033\\[((?:\\d|;)*)([a-zA-Z])")  # stdlib re: \d is any Unicode decimal digit (Nd)
DROPPED = set(range(0, 9)) | {0x0B} | set(range(0x0E, 0x20)) | {0x7F} | set(range(0x206A, 0x2070)) | {
    0xFEFF} | set(range(0xFFF9, 0xFFFD))


def fix_segment(text, unescape):
    while True:
        before = text
        if unescape:
            text = ftfy_unescape(text)
        text = c1_to_cp1252(text)
        text = "".join(LIGATURES.get(ch, ch) for ch in text)
        text = fix_width(text)
        text = uncurl(text)
        text = line_breaks(text)
        text = ANSI.sub("", text)
        text = "".join(ch for ch in text if ord(ch) not in DROPPED)
        text = unicodedata.normalize("NFC", text)
        if text == before:
            return text


def fix_text(text):
    """ftfy.fix_text defaults without mojibake repair: line by line, no HTML once a line had '<'."""
    out, pos, unescape = [], 0, True
    while pos < len(text):
        end = text.find("\n", pos) + 1 or len(text)
        segment = text[pos:end]
        if "<" in segment:
            unescape = False
        out.append(fix_segment(segment, unescape))
        pos = end
    return "".join(out)


def clean(text):
    text = fix_text(text)
    text = html.unescape(html.unescape(text)).strip()
    text = regex.sub(r"\s+", " ", text).strip()
    return text.lower()


PRETOKEN = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE)


# ---------------------------------------------------------------- BPE
class Reference:
    def __init__(self, path=None):
        pairs = byte_chars()
        self.char_of = {b: c for b, c in pairs}
        self.byte_of = {c: b for b, c in pairs}
        if path is None:  # byte-level mode
            symbols = [c for _, c in pairs]
            symbols += [s + "</w>" for s in symbols]
            self.ranks = {}
        else:
            lines = gzip.open(path).read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]  # lines 2..48895
            merges = [tuple(line.split()) for line in lines]
            symbols = [c for _, c in pairs]
            symbols += [s + "</w>" for s in symbols]
            symbols += ["".join(m) for m in merges]
            self.ranks = {m: i for i, m in enumerate(merges)}
        symbols += [START, END]
        self.ids = {s: i for i, s in enumerate(symbols)}
        self.symbols = symbols

    def bpe(self, word):
        parts = list(word[:-1]) + [word[-1] + "</w>"]
        while len(parts) > 1:
            best = None
            for pair in zip(parts, parts[1:]):
                rank = self.ranks.get(pair)
                if rank is not None and (best is None or rank < best[0]):
                    best = (rank, pair)
            if best is None:
                break
            first, second = best[1]
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == first and parts[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        return parts

    def encode(self, text):
        ids = []
        for token in PRETOKEN.findall(clean(text)):
            if token in (START, END):
                ids.append(self.ids[token])
                continue
            word = "".join(self.char_of[b] for b in token.encode("utf-8"))
            ids.extend(self.ids[s] for s in self.bpe(word))
        return ids

    def tokenize(self, text, context=77, truncate=False):
        ids = [self.ids[START]] + self.encode(text) + [self.ids[END]]
        if len(ids) > context:
            if not truncate:
                return None
            ids = ids[:context]
            ids[-1] = self.ids[END]
        return ids

    def decode(self, ids):
        data = bytes(self.byte_of[c] for i in ids for c in self.symbols[i])
        return data.decode("utf-8", errors="replace").replace("</w>", " ")


# ---------------------------------------------------------------- cases
KNOWN = {  # CLIP.md §6, from the reference implementation
    "a photo of a cat.": [49406, 320, 1125, 539, 320, 2368, 269, 49407],
    "traffic light": [49406, 3399, 1395, 49407],
    "ping-pong ball": [49406, 2089, 268, 17710, 1069, 49407],
    "a photo of the large goldfish.": [49406, 320, 1125, 539, 518, 3638, 40293, 269, 49407],
    "itap of a tench.": [49406, 529, 2728, 539, 320, 1149, 634, 269, 49407],
    "sofa": [49406, 15723, 49407],
}

CASES = [
    # accents and normalization
    ("accents", "Café crème brûlée à la française, Ångström, naïve"),
    ("accents_decomposed", "Cafe\u0301 cre\u0300me"),
    ("cjk", "東京タワーの夜景 北京 안녕하세요 こんにちは"),
    ("emoji", "I \u2764\ufe0f my \U0001F431 and pizza \U0001F355!! \U0001F468\u200d\U0001F469\u200d\U0001F467 \U0001F1EF\U0001F1F5"),
    ("emoji_text_presentation", "\u263a\ufe0e \u263a\ufe0f \u2b50"),
    # HTML entities
    ("html_amp", "Tom &amp; Jerry"),
    ("html_amp_nested", "fish &amp;amp; chips &amp;amp;amp;lt;"),
    ("html_copy", "&copy 2020 &copy; &COPY; &copyright &not &notin; &notit; &ampx &amp"),
    ("html_tags", "&lt;b&gt;bold&lt;/b&gt; &quot;hi&quot; &apos;x&apos;"),
    ("html_with_lt", "a < b &amp;amp;amp; c &gt; d &#769;e"),
    ("html_numeric", "&#65;&#x42;&#X43;&#68 &#0; &#128; &#x81; &#x110000; &#xD800; &#13;x &#12; &#x1F600; &#99999999999999999999;"),
    ("html_numeric_invalid", "&#1;a&#x7f;b&#xFDD0;c&#xFFFF;d&#11;e"),
    ("html_upper", "&NTILDE; &EACUTE;T&EACUTE; BUNDESSTRA&SZLIG;E &nTILDE; &Ntilde;"),
    ("html_no_entity", "AT&T R&D &# &#x; &#xZ; & ; &;"),
    ("html_multiline_lt", "x &amp;amp;\n<b>\n&amp;amp;amp;amp; y"),
    ("html_decomposed_after_fix", "< cafe&#769;"),
    ("html_long_name", "&CounterClockwiseContourIntegral; &ThisIsNotAnEntityButItIsVeryLongIndeedXYZ;"),
    # apostrophes
    ("apostrophes", "it's we've they're I'm you'll he'd don't JOHN'S 'S"),
    ("apostrophes_odd", "rock 'n' roll ''quoted'' it'\u017f l'amour o'clock"),
    # digits
    ("digits", "12345 3.14 1,000,000 \u00bd \u00b2 \u0663\u0664 \u216b 2nd 10th"),
    # whitespace
    ("whitespace", "  a\tb\nc\r\nd  e\u3000f\u00a0g\u2003h\u200bi\u2028j\u2029k\u0085l  "),
    ("whitespace_only", " \t\n\u3000\u00a0 "),
    ("empty", ""),
    # quotes, ligatures, width
    ("curly_quotes", "\u201cHello\u201d \u2018world\u2019 it\u2019s \u201eLow\u201f \u02bcn \u201b"),
    ("ligatures", "\ufb01sh \ufb02ower \ufb00 \ufb03 \ufb04 \ufb05 \ufb06 \u0132ssel \u01c5 \u0149"),
    ("fullwidth", "\uff21\uff22\uff23\u3000\uff44\uff45\uff46\u3000\uff11\uff12\uff13\uff01\uff08\uff09"),
    ("halfwidth", "\uff8a\uff9d\uff76\uff78 \uffa1\uffa4 \uffe0\uffe8"),
    # special tokens
    ("special_literal", "<|startoftext|>hello<|endoftext|> world"),
    ("special_upper", "<|STARTOFTEXT|> a <|EndOfText|>"),
    ("special_glued", "x<|endoftext|> !<|endoftext|> <|startoftext|"),
    ("special_long_s", "<|\u017ftartoftext|>"),
    # case mapping
    ("dotted_i", "\u0130stanbul \u0130 I\u0307"),
    ("final_sigma", "\u039f\u0394\u039f\u03a3 \u039f\u0394\u039f\u03a3. \u03a3 \u03a3\u0391\u03a3 \u03a3\u0391\u03a3\u0391"),
    ("sharp_s", "STRASSE stra\u00dfe \u1e9e"),
    # scripts and combining marks
    ("devanagari", "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e"),
    ("combining", "e\u0301\u0301 a\u0345b x\u0345 \u0345!"),
    ("thai_arabic", "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35 \u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645"),
    ("hebrew_cyrillic", "\u05e9\u05dc\u05d5\u05dd \u041f\u0440\u0438\u0432\u0435\u0442 \u041c\u0418\u0420"),
    # control characters, C1, ANSI escapes
    ("c1_controls", "wait\u0085 \u0080 \u0081x \u009d \u0093quoted\u0094 \u0096"),
    ("ansi", "\x1b[31mred\x1b[0m text \x1b[1;\u0663mX \x1b[?25h"),
    ("control_chars", "a\x00b\x07c\x7fd\ufeffe\u206af\ufff9g\ufffch\x1fi"),
    ("replacement_char", "bad \ufffd byte"),
    ("private_use", "\ue000 \U0010fffd \U000e0001"),
    # long words
    ("long_words", "antidisestablishmentarianism supercalifragilisticexpialidocious"),
    ("ade_prompt", "A photo of a person, individual, someone, somebody, mortal, soul in the scene"),
    ("punctuation", "hello!!! ... --- ??? (x) [y] {z} @user #tag $5 100% a/b c\\d ~`^"),
]

DECODE_CASES = [  # ids -> text, incl. broken UTF-8 (errors='replace'); byte b has id = its index in bs order
    [49406, 320, 1125, 539, 320, 2368, 269, 49407, 0, 0],
    [159, 223],            # E3 81: truncated 3-byte sequence
    [159, 223, 64],        # E3 81 'a'
    [187],                 # FF
    [223],                 # lone continuation byte 81
    [172, 253, 246, 222],  # F0 9F 98 80: U+1F600
    [172, 253],            # truncated 4-byte sequence
    [172, 253, 246, 64],   # truncated, then 'a'
    [169, 254, 222],       # ED A0 80: an encoded surrogate
    [124, 222],            # C0 80: overlong
    [27, 14, 86, 29],      # '<' '/' 'w' '>' -> "</w>" across ids becomes a space
    [64, 27, 14, 86, 285], # 'a' '<' '/' 'w' '>'</w>
    [49406, 49407, 49405],
]


def main():
    ref = Reference(VOCAB)
    for text, ids in KNOWN.items():
        got = ref.tokenize(text)
        assert got == ids, (text, got, ids)
    assert len(ref.symbols) == 49408

    cases = []
    for name, text in CASES:
        ids = ref.tokenize(text)
        assert ids is not None, name
        cases.append({"name": name, "text": text, "cleaned": clean(text), "ids": ids,
                      "decoded": ref.decode(ids)})

    long_text = " ".join(["a photo of a large goldfish"] * 14)
    exact = " ".join(["a"] * 75)
    over = " ".join(["a"] * 76)
    assert ref.tokenize(long_text) is None and ref.tokenize(over) is None
    assert len(ref.tokenize(exact)) == 77
    long_cases = {
        "long_text": long_text,
        "long_truncated": ref.tokenize(long_text, truncate=True),
        "long_token_count": len(ref.encode(long_text)) + 2,
        "exact_text": exact,
        "exact_ids": ref.tokenize(exact),
        "over_text": over,
        "over_truncated": ref.tokenize(over, truncate=True),
        "short_context": ref.tokenize("a photo of a cat.", context=5, truncate=True),
    }

    decodes = [{"ids": ids, "text": ref.decode(ids)} for ids in DECODE_CASES]

    byte_ref = Reference(None)
    byte_cases = []
    for text in ["a photo of a cat.", "Caf\u00e9 \U0001F431!", "it's <|endoftext|> 42", "  "]:
        ids = byte_ref.tokenize(text)
        byte_cases.append({"text": text, "ids": ids, "decoded": byte_ref.decode(ids)})

    with open(ADE847, encoding="utf-8") as f:
        ade = [ref.tokenize("A photo of a {} in the scene".format(name)) for name in json.load(f)]
    assert all(ids is not None for ids in ade)

    golden = {
        "generator": "tools/gen_tokenizer_golden.py",
        "python": "%d.%d.%d" % sys.version_info[:3],
        "unicodedata": unicodedata.unidata_version,
        "regex": regex.__version__,
        "cases": cases,
        "long": long_cases,
        "decode": decodes,
        "byte_level": byte_cases,
        "ade847_prompt": "A photo of a {} in the scene",
        "ade847": ade,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        text = json.dumps(golden, ensure_ascii=True, indent=1)
        # One line per id list keeps the file small and readable.
        text = regex.sub(r"\[\s+(-?\d+(?:,\s+-?\d+)*)\s+\]", lambda m: "[" + regex.sub(r"\s+", " ", m.group(1)) + "]", text)
        f.write(text)
        f.write("\n")
    print("wrote %s: %d cases, %d decode cases, %d byte-level cases" % (OUT, len(cases), len(decodes),
                                                                         len(byte_cases)))
    for c in cases:
        print("%-26s %-60r %s" % (c["name"], c["cleaned"][:60], len(c["ids"])))


if __name__ == "__main__":
    main()
