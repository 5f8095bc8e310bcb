"""`python -m e2e.growth`: see e2e/studies/growth.py."""

import sys

from e2e.studies.growth import main

if __name__ == "__main__":
    sys.exit(main())
