"""The base names, re-exported for callers that still import them from here: they are declared once
in :mod:`callbot.basenames` (the bottom layer, so ``stt`` can read them without importing ``bases``)."""

from callbot.basenames import (
    BASES_ENV as BASES_ENV,
)
from callbot.basenames import (
    BUILDERS as BUILDERS,
)
from callbot.basenames import (
    DEFAULT_ROOT as DEFAULT_ROOT,
)
from callbot.basenames import (
    KNOWN as KNOWN,
)
from callbot.basenames import (
    PACKAGE_PREFIX as PACKAGE_PREFIX,
)
from callbot.basenames import (
    BaseMissingError as BaseMissingError,
)
from callbot.basenames import (
    bases_root as bases_root,
)
from callbot.basenames import (
    is_package as is_package,
)
from callbot.basenames import (
    resolve_package as resolve_package,
)
