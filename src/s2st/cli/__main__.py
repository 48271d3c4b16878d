"""``python -m s2st.cli``: the ``s2st`` command."""

import sys

from . import main

sys.exit(main())
