# Ctrl-C: SIGINT to a Python process inside a long call raises KeyboardInterrupt there within a
# bound, for each kind of long call (the computation checks for signals every 100 ms).
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import DEFAULT_MODEL, SHARED

TEXT = SHARED / "data/text/pg2600-war-and-peace.txt"
MC = SHARED / "data/mc"

# Each call takes far longer than the bound below on the default model (minutes, most of them).
CALLS = {
    "perplexity": "m.perplexity(pathlib.Path(TEXT), ctx=256, stride=32)",
    "analyze": "m.analyze(pathlib.Path(TEXT), ctx=[128, 256], bos=[True, False])",
    "eval": "m.eval(MC + '/hellaswag_val_full.txt')",
    "prune_sweep": "sinkscope.prune_sweep(m, calib=TEXT, evals=['ppl:' + TEXT], calib_chunks=400,"
                   " eval_chunks=0)",
}

SCRIPT = """
import pathlib, sys, time
import sinkscope
TEXT, MC = sys.argv[1], sys.argv[2]
m = sinkscope.load(sys.argv[3], threads=1)
print("ready", flush=True)
start = time.monotonic()
try:
    {call}
except KeyboardInterrupt:
    print("interrupted after %.3f s" % (time.monotonic() - start), flush=True)
    sys.exit(0)
print("finished", flush=True)
sys.exit(1)
"""


# At 0.5 s the calls on the long text are still tokenizing it (1.5 s here), which checks too; at
# 2.5 s they are running the model.
@pytest.mark.parametrize("name,delay", [(name, 0.5) for name in CALLS] + [("perplexity", 2.5), ("analyze", 2.5)])
def test_sigint_interrupts_a_long_call(name, delay):
    child = subprocess.Popen([sys.executable, "-c", SCRIPT.format(call=CALLS[name]), str(TEXT), str(MC),
                              str(DEFAULT_MODEL)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=os.environ)
    try:
        assert child.stdout.readline() == "ready\n"
        time.sleep(delay)
        assert child.poll() is None
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=20)
        took = time.monotonic() - sent
    finally:
        child.kill()
    assert child.returncode == 0 and out.startswith("interrupted after"), (out, err)
    print(name, out.strip(), "signal to exit %.3f s" % took)
    # The call stopped within 3 s of the signal, the interpreter's exit included: the checks come
    # every 100 ms, and it takes about 0.1 s on a quiet machine; the margin is for a loaded one
    # (1.5 s seen at a load average of 10 on 2 cores). Without the checks each call runs on for
    # minutes, far past communicate's timeout.
    assert took < 3.0, took
