#!/usr/bin/env python3
"""A headless browser for signet's login tests (signet.urlOpener).

GETs the URL given as the last argument and follows redirects, as a browser would: the test
stack's authorize endpoint auto-approves and redirects to signet's loopback listener. Proxies
from the environment are ignored (everything is on 127.0.0.1). Prints nothing on success.
"""

import sys
import urllib.request


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: open_url.py URL", file=sys.stderr)
        return 2
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(sys.argv[-1], timeout=30) as response:
            response.read()
    except Exception as e:  # noqa: BLE001 - report any failure and exit non-zero
        print(f"open_url.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
