"""`python -m e2e.scale`: kept for the command users and CI know; see e2e/studies/scale.py."""

import sys

from e2e.studies.scale import main

if __name__ == "__main__":
    sys.exit(main())
