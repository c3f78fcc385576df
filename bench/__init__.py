"""FireLater's benchmark suite (`make bench`): cold vs warm, load, peers, scale, faults.

Run everything with `python -m bench.run` (or `--quick`); each phase module is runnable on
its own (`python -m bench.compare --quick`). Results land in bench/results/.
"""
