"""csg_mm models: the shared CSG core and the task adapters."""
from .classifiers import *  # noqa: F401,F403
from .csg import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .decode_heads import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
