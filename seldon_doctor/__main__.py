"""Allow ``python -m seldon_doctor``."""

from seldon_doctor.cli import main

main()
