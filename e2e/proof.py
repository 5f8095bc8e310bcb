"""`python -m e2e.proof`: kept for the command users and CI know; see e2e/studies/proof.py."""

import sys

from e2e.studies.proof import main

if __name__ == "__main__":
    sys.exit(main())
