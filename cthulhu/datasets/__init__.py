"""Small datasets that ship inside cthulhu (no network access needed).

Importing this package is cheap: each dataset module only touches numpy and
reads its file when ``load_data`` is called.
"""

from cthulhu.datasets import digits

__all__ = ["digits"]
