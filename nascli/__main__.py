"""Allow ``python -m nascli``."""

from nascli.cli import main

if __name__ == "__main__":
    main()
