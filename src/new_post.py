"""A post an operator adds with the ``add-post`` action: checked, named and laid out here.

The action's parameters are operator input that ends up as a file in the
posts storage, so nothing in them decides where the file goes: its name is
made here from the title, of letters, digits and dashes only, and can hold
no ``/``, no ``..`` and no NUL. The post is as the blog reads one (its first
line the title, the rest the body), and small enough that the blog shows it
whole. No Juju in here: the charm hands the parameters in and writes the file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from typing import Final

from example_blog import MAX_POST_BYTES, POST_SUFFIX

MAX_TITLE_CHARS: Final = 120
# A name of at most this many characters before the suffix, far below a file system's 255 bytes.
MAX_STEM_CHARS: Final = 60
# What a title that has no letter or digit in ASCII is named by instead: its digest.
DIGEST_CHARS: Final = 12


def file_stem(title: str) -> str:
    """A file name stem for ``title``: lowercase ASCII letters and digits joined by dashes.

    Accents are dropped (``Café`` is ``cafe``); a title with nothing left (all
    punctuation, or a script with no ASCII letters) is named by a digest of
    itself, so every title has a name and different ones rarely share it.
    """
    ascii_only = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    words = re.sub(r"[^a-z0-9]+", "-", ascii_only.lower()).strip("-")
    stem = words[:MAX_STEM_CHARS].rstrip("-")
    if stem:
        return stem
    digest = hashlib.sha256(title.encode("utf-8")).hexdigest()[:DIGEST_CHARS]
    return f"post-{digest}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class NewPost:
    """The ``add-post`` action's parameters, refused with the reason when they cannot be a post.

    Juju checks the lengths the action's schema declares; they are checked
    again here, because the post must fit the blog's limits whatever a client
    sends.
    """

    title: str
    body: str = ""

    def __post_init__(self) -> None:
        title = self.title.strip()
        if not title:
            raise ValueError("the title is empty")
        if len(title) > MAX_TITLE_CHARS:
            raise ValueError(f"the title has {len(title)} characters, at most {MAX_TITLE_CHARS}")
        # Control, surrogate and private-use characters; format ones (a soft hyphen,
        # a joiner in an emoji) belong to printable text.
        if any(unicodedata.category(char) in ("Cc", "Cs", "Co") for char in title):
            raise ValueError("the title must be one line of printable text")
        if "\0" in self.body:
            raise ValueError("the body holds a NUL character")
        try:
            size = len(self.text.encode("utf-8"))
        except UnicodeEncodeError:
            raise ValueError("the post is not valid Unicode text") from None
        if size > MAX_POST_BYTES:
            raise ValueError(f"the post is {size} bytes in UTF-8, at most {MAX_POST_BYTES}")

    @property
    def file_name(self) -> str:
        """The post's file name in the posts directory."""
        return f"{file_stem(self.title.strip())}{POST_SUFFIX}"

    @property
    def text(self) -> str:
        """The file's content: the title line, then the body."""
        return f"{self.title.strip()}\n{self.body.rstrip()}\n"
