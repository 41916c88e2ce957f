"""`python -m training ...` and `torchrun --nproc_per_node=N -m training ...`."""

import sys

from training.cli import main

sys.exit(main())
