"""Run every benchmark module of this folder."""

import importlib
import pkgutil

import bench

for module in sorted(m.name for m in pkgutil.iter_modules(bench.__path__)):
    if module != "__main__":
        print(f"== bench.{module}")
        importlib.import_module(f"bench.{module}").main()
