"""`python -m sources.replay DIR [--port 8765] ...`: serve a replay folder as the GitHub REST API.

The documented command only; the server is a development tool and lives in `replay/server.py`.
"""

if __name__ == "__main__":
    from replay.server import main

    raise SystemExit(main())
