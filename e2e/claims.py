"""`python -m e2e.claims`: kept for the command users and CI know; see e2e/studies/claims.py."""

import sys

from e2e.studies.claims import main

if __name__ == "__main__":
    sys.exit(main())
