"""Collect and run the integration tests: every function named test_* in
tests/integration/test_*.py, each in a fresh temporary directory. Prints one
line per test and a closing 'N passed, N failed' line; exits 1 on failure.

Usage: runner.py [-k SUBSTRING]"""
import importlib.util
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv):
    pattern = None
    if len(argv) >= 2 and argv[0] == "-k":
        pattern = argv[1]
    sys.path.insert(0, HERE)
    passed = failed = 0
    for name in sorted(os.listdir(HERE)):
        if not (name.startswith("test_") and name.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(name[:-3], os.path.join(HERE, name))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for fn_name in sorted(n for n in dir(mod) if n.startswith("test_")):
            full = f"{name[:-3]}.{fn_name}"
            if pattern and pattern not in full:
                continue
            start = time.monotonic()
            try:
                getattr(mod, fn_name)()
                passed += 1
                print(f"PASS {full} ({time.monotonic() - start:.1f}s)", flush=True)
            except Exception:  # noqa: BLE001 - report every failure the same way
                failed += 1
                print(f"FAIL {full} ({time.monotonic() - start:.1f}s)", flush=True)
                traceback.print_exc()
    print(f"integration: {passed} passed, {failed} failed", flush=True)
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
