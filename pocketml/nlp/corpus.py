"""Text that ships with Python itself: an unlabelled corpus and a labelled task (no downloads).

* :func:`general_corpus`: the language reference's topic texts (``pydoc_data.topics``: what
  ``help("FOR")`` prints), cut into passages of a few sentences: unlabelled English prose about
  programming, for general distillation.
* :func:`docstring_task`: "which part of the standard library is this docstring from?" The label of
  each public function/class/method docstring is the chapter of the Python Library Reference its
  module belongs to (the reference's own table of contents, written by its authors, see
  :data:`CHAPTERS`). The first paragraph of each docstring is kept, names of the module and of the
  object itself are masked (``___``), signature lines are dropped and duplicate texts removed, so
  the label is not a keyword lookup; docs/tinybert.md shows a bag-of-words baseline beside it.
  The split is by *module* hash-free and deterministic: objects are shuffled with a fixed seed and
  split 70/30 per chapter.
* :func:`unlabelled_docstrings`: the same kind of text (first paragraphs of public docstrings, own
  names masked) from standard-library modules that are in *no* chapter of the task
  (:data:`UNLABELLED_MODULES`), without labels, for prediction-layer distillation on in-domain text.
  Any text equal or near-equal (word-set Jaccard >= ``near``, 0.5) to a task text, train or test, is
  dropped, so no test docstring reaches the student this way.
"""

from __future__ import annotations

import importlib
import inspect
import re
import warnings
from dataclasses import dataclass

import numpy as np

# Chapters of the Python Library Reference (docs.python.org/3/library/index.html) and modules in them.
CHAPTERS: dict[str, tuple[str, ...]] = {
    "text": ("string", "re", "textwrap", "difflib", "unicodedata", "stringprep", "codecs", "locale", "gettext"),
    "numeric": ("math", "cmath", "decimal", "fractions", "statistics", "random", "numbers"),
    "files": ("os", "os.path", "pathlib", "shutil", "glob", "fnmatch", "tempfile", "filecmp", "stat", "fileinput"),
    "formats": ("pickle", "shelve", "sqlite3", "json", "csv", "configparser", "plistlib", "zipfile", "tarfile",
                "gzip", "bz2", "lzma", "zlib", "copyreg", "marshal", "dbm"),
    "concurrency": ("threading", "multiprocessing", "concurrent.futures", "subprocess", "sched", "queue",
                    "asyncio", "contextvars"),
    "internet": ("socket", "ssl", "http.client", "http.server", "http.cookies", "urllib.request", "urllib.parse",
                 "email.message", "email.utils", "smtplib", "ftplib", "poplib", "imaplib", "xmlrpc.client",
                 "mimetypes", "ipaddress", "webbrowser", "socketserver"),
    "datatypes": ("datetime", "calendar", "collections", "heapq", "bisect", "array", "enum", "copy", "pprint",
                  "weakref", "types", "graphlib", "zoneinfo"),
}


# Standard-library modules in no chapter of CHAPTERS (checked by tests): unlabelled in-domain docstrings.
UNLABELLED_MODULES: tuple[str, ...] = (
    "argparse", "logging", "logging.handlers", "logging.config", "unittest", "unittest.mock", "inspect", "ast",
    "dis", "tokenize", "typing", "functools", "itertools", "operator", "contextlib", "abc", "io", "struct",
    "hashlib", "hmac", "secrets", "base64", "binascii", "html.parser", "xml.dom.minidom", "xml.etree.ElementTree",
    "xml.sax", "mailbox", "uuid", "timeit", "trace", "pdb", "doctest", "traceback", "warnings", "importlib.resources",
    "importlib.metadata", "pkgutil", "sysconfig", "platform", "shlex", "selectors", "signal", "pydoc", "symtable",
    "zipimport", "optparse", "cmd", "gc", "dataclasses", "tracemalloc", "pstats", "code", "linecache", "sys",
    "builtins", "select", "ctypes", "email.mime.text", "email.parser", "email.headerregistry", "email.policy",
    "http.cookiejar", "urllib.robotparser", "wsgiref.simple_server", "wsgiref.handlers", "pickletools",
)


@dataclass(frozen=True)
class TextTask:
    """A labelled text task: train/test texts and integer labels, and the class names."""

    name: str
    classes: tuple[str, ...]
    train_text: tuple[str, ...]
    train_y: np.ndarray
    test_text: tuple[str, ...]
    test_y: np.ndarray


def _first_paragraph(doc: str) -> str:
    lines = inspect.cleandoc(doc).split("\n\n")
    for para in lines:
        text = " ".join(para.split())
        if re.fullmatch(r"[\w.]+\(.*\)( -> .*)?", text) or len(text) < 20:
            continue  # a signature line ("sin(x)") or too short to say anything
        return text
    return ""


def _mask(text: str, names: set[str]) -> str:
    for n in sorted(names, key=len, reverse=True):
        if len(n) > 1:
            text = re.sub(rf"\b{re.escape(n)}\b", "___", text)
    return text


def _docstrings(module_name: str) -> list[str]:
    with warnings.catch_warnings():  # importing and reading deprecated attributes (typing.re, ...) warns
        warnings.simplefilter("ignore")
        return _collect_docstrings(module_name)


def _collect_docstrings(module_name: str) -> list[str]:
    try:
        mod = importlib.import_module(module_name)
    except ImportError:
        return []
    own = {module_name, module_name.split(".")[-1], getattr(mod, "__name__", module_name)}
    texts = []

    def add(obj, name: str) -> None:
        doc = getattr(obj, "__doc__", None)
        if isinstance(doc, str):
            t = _mask(_first_paragraph(doc), own | {name})
            if t:
                texts.append(t)

    for name in sorted(dir(mod)):
        if name.startswith("_"):
            continue
        obj = getattr(mod, name, None)
        home = getattr(obj, "__module__", None) or ""
        if not (inspect.isfunction(obj) or inspect.isbuiltin(obj) or inspect.isclass(obj)):
            continue
        if home.lstrip("_").split(".")[0] != module_name.split(".")[0].lstrip("_") and home != module_name:
            continue  # re-exported from elsewhere
        add(obj, name)
        if inspect.isclass(obj):
            for mname, member in sorted(vars(obj).items()):
                if not mname.startswith("_") and callable(member):
                    add(member, mname)
    return texts


def docstring_task(per_chapter: int = 200, test_fraction: float = 0.3, seed: int = 0) -> TextTask:
    """The chapter-of-the-library task (at most ``per_chapter`` docstrings per chapter, balanced)."""
    rng = np.random.default_rng(seed)
    seen: dict[str, int] = {}
    by_chapter: list[list[str]] = []
    for ci, modules in enumerate(CHAPTERS.values()):
        texts = []
        for m in modules:
            for t in _docstrings(m):
                key = t.lower()
                if key in seen:
                    if seen[key] != ci:
                        seen[key] = -1  # the same text in two chapters: drop it everywhere
                    continue
                seen[key] = ci
                texts.append(t)
        by_chapter.append(texts)
    train_t, train_y, test_t, test_y = [], [], [], []
    for ci, texts in enumerate(by_chapter):
        texts = [t for t in texts if seen[t.lower()] == ci]
        texts = [texts[i] for i in rng.permutation(len(texts))][:per_chapter]
        n_test = int(round(len(texts) * test_fraction))
        test_t += texts[:n_test]
        test_y += [ci] * n_test
        train_t += texts[n_test:]
        train_y += [ci] * (len(texts) - n_test)
    return TextTask("stdlib-chapter", tuple(CHAPTERS), tuple(train_t), np.array(train_y, np.int64),
                    tuple(test_t), np.array(test_y, np.int64))


def general_corpus(max_passages: int | None = None, sentences: int = 2) -> list[str]:
    """Passages of ``sentences`` sentences from the language reference's topics (``pydoc_data``)."""
    from pydoc_data.topics import topics

    passages = []
    for key in sorted(topics):
        prose = [" ".join(p.split()) for p in topics[key].split("\n\n")]
        prose = [p for p in prose if len(p) > 40 and not p.startswith(("*", ">>>", "...")) and "::=" not in p]
        for para in prose:
            parts = re.split(r"(?<=[.!?])\s+", para)
            for i in range(0, len(parts), sentences):
                chunk = " ".join(parts[i:i + sentences])
                if len(chunk) > 40:
                    passages.append(chunk)
    return passages[:max_passages] if max_passages else passages


def near_duplicates(texts: list[str], reference: list[str], near: float = 0.8) -> np.ndarray:
    """For each of ``texts``: True if some ``reference`` text has word-set Jaccard >= ``near`` with it."""
    if not texts or not reference:
        return np.zeros(len(texts), bool)
    from sklearn.feature_extraction.text import CountVectorizer

    vec = CountVectorizer(binary=True, lowercase=True, token_pattern=r"[A-Za-z0-9_]+")
    vec.fit(list(texts) + list(reference))
    a, b = vec.transform(texts), vec.transform(reference)
    inter = (a @ b.T).toarray().astype(np.float64)
    union = np.asarray(a.sum(1)) + np.asarray(b.sum(1)).T - inter
    return (inter / np.maximum(union, 1.0) >= near).any(1)


def unlabelled_docstrings(exclude: list[str] | tuple[str, ...], modules: tuple[str, ...] = UNLABELLED_MODULES,
                          near: float = 0.5) -> list[str]:
    """First docstring paragraphs of ``modules`` (names masked), minus near-duplicates of ``exclude``.

    ``exclude`` should be every text of the task (train and test): a text within Jaccard ``near`` of
    any of them, or repeated, is dropped. Order is deterministic (module order, then name order).
    """
    task_modules = {m for ms in CHAPTERS.values() for m in ms}
    seen: set[str] = set()
    texts = []
    for m in modules:
        if m in task_modules:
            continue  # a task module's docstrings are the task's
        for t in _docstrings(m):
            if t.lower() not in seen:
                seen.add(t.lower())
                texts.append(t)
    dup = near_duplicates(texts, list(exclude), near)
    return [t for t, d in zip(texts, dup, strict=True) if not d]
