"""textstats: word counts, top words and a language guess for a text file.

An example batchhost task plugin in Python. The task reads the file in
chunks, reporting progress per chunk, so a large file shows it moving and
can be cancelled between chunks.
"""

import codecs
import collections
import os
import re
from dataclasses import dataclass

from batchhost_sdk import InvalidArgs, Plugin, UnsupportedFormat, task

VERSION = "1.0.0"

#: Bytes read per chunk; one progress report each.
CHUNK_BYTES = 64 << 10

# A word: letters, with inner apostrophes ("don't"); digits and
# punctuation separate words.
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")

# The most frequent short words of each language; the one whose words are
# the largest share of the text wins.
STOPWORDS = {
    "en": "the of and to in is that it was for on are with as i his they be at one have this from or had by not but what",
    "de": "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch es an werden aus er hat dass",
    "fr": "le de la les et des en un du une que est pour qui dans par plus pas au sur ne se ce il sont avec",
    "es": "de la que el en y los del se las por un para con no una su al lo como más pero sus le ya o",
    "it": "di e il la che in un per del non una sono le si con mi ma della lo gli al ha da come",
    "nl": "de en van het een in is dat op te zijn met voor niet die aan er om ook als dan maar bij",
    "pt": "de a o que e do da em um para com não uma os no se na por mais as dos como mas",
}
_STOP = {lang: set(words.split()) for lang, words in STOPWORDS.items()}

#: Below this share of stopwords no language is claimed.
MIN_SHARE = 0.05


@dataclass
class AnalyzeArgs:
    #: An absolute path to a UTF-8 text file.
    path: str
    #: How many of the most frequent words to return.
    top: int = 10

    def validate(self):
        if not os.path.isabs(self.path):
            raise InvalidArgs("path %r is relative: give an absolute path" % self.path)
        if not 0 <= self.top <= 1000:
            raise InvalidArgs("top %d is out of range 0..1000" % self.top)


@task("analyze", "Counts words and lines of a UTF-8 text file, lists its top words and guesses its language")
def analyze(job, args: AnalyzeArgs):
    try:
        f = open(args.path, "rb")
    except FileNotFoundError:
        raise InvalidArgs("path %s does not exist" % args.path) from None
    except IsADirectoryError:
        raise InvalidArgs("path %s is a directory, not a text file" % args.path) from None
    with f:
        size = os.fstat(f.fileno()).st_size
        job.log.info("reading", path=args.path, bytes=size)
        counts = collections.Counter()
        lines = read = 0
        carry, last = "", b""
        decoder = codecs.getincrementaldecoder("utf-8")()
        while True:
            job.raise_if_cancelled()
            chunk = f.read(CHUNK_BYTES)
            final = not chunk
            if b"\0" in chunk:
                raise UnsupportedFormat("%s is binary (it holds NUL bytes), not text" % args.path)
            try:
                piece = decoder.decode(chunk, final)
            except UnicodeDecodeError as e:
                raise UnsupportedFormat("%s is not UTF-8 text (invalid byte at offset %d)" % (
                    args.path, read + e.start)) from None
            lines += piece.count("\n")
            # A word cut by the chunk's end is counted with the next chunk.
            text, carry = _split_tail(carry + piece, final)
            counts.update(w.lower() for w in _WORD.findall(text))
            if final:
                break
            read += len(chunk)
            last = chunk[-1:]
            job.progress(read / size if size else 1.0, "read %d of %d bytes" % (read, size))
        if last not in (b"", b"\n"):
            lines += 1  # a last line without its newline
    lang, share = guess_language(counts)
    job.log.info("analyzed", words=sum(counts.values()), unique=len(counts), language=lang)
    return {
        "words": sum(counts.values()),
        "unique": len(counts),
        "lines": lines,
        "top": [{"word": w, "count": n} for w, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:args.top]],
        "language": lang,
        "language_share": round(share, 3),
    }


def _split_tail(text, final):
    """Splits text before a word its chunk may have cut, unless final."""
    if final:
        return text, ""
    i = len(text)
    while i > 0 and (text[i - 1].isalpha() or text[i - 1] in "'’"):
        i -= 1
    return text[:i], text[i:]


def guess_language(counts):
    """The language whose stopwords are the largest share of the words, and
    that share; ("unknown", share) below MIN_SHARE."""
    total = sum(counts.values())
    if not total:
        return "unknown", 0.0
    best, best_share = "unknown", 0.0
    for lang, stop in sorted(_STOP.items()):
        share = sum(counts[w] for w in stop) / total
        if share > best_share:
            best, best_share = lang, share
    if best_share < MIN_SHARE:
        return "unknown", best_share
    return best, best_share


def plugin():
    return Plugin("textstats", VERSION, tasks=[analyze])
