"""One step of a benchmark run, in its own process: `prepare` or `run NAME`.

The last line of output is `BENCH-JSON <json>`; `python -m bench` reads it.
"""

import argparse
import json
import os
import sys

MARK = "BENCH-JSON "


def main(argv=None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from . import runner
    from .registry import Context

    parser = argparse.ArgumentParser(prog="python -m bench.child")
    parser.add_argument("step", choices=["prepare", "run"])
    parser.add_argument("name", nargs="?")
    parser.add_argument("--size", default="default")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    def log(message):
        print(message, file=sys.stderr, flush=True)

    if args.step == "prepare":
        runner.migrate()
        answer = runner.prepare(size=args.size, seed=args.seed, log=log)
        answer["environment"] = runner.environment()
        answer["peak_rss_mib"] = runner.peak_rss_mib()
    else:
        answer = runner.run(args.name, Context(size=args.size, repeat=args.repeat, log=log))
    print(MARK + json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
