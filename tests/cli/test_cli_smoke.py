"""`amdrt smoke` end to end on two simulated GPUs, in a fresh process as a user runs it."""

import json
import os
import subprocess
import sys


def test_smoke_on_two_simulated_gpus_passes(tmp_path):
    report = tmp_path / "smoke.json"
    env = dict(os.environ, AMDRT_SIM="2")
    done = subprocess.run([sys.executable, "-m", "amdrt", "smoke", "--size", "2", "--elements", "4096",
                           "--matmul", "32", "--json", str(report)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    checks = json.loads(report.read_text())["checks"]
    names = {c["name"]: c for c in checks}
    for gpu in ("gpu0", "gpu1"):
        for what in ("VRAM write/read", "SDMA fill and copy", "assembly kernel (vadd)",
                     "faulting kernel is reported", "hanging kernel is reported"):
            assert names[f"{gpu} {what}"]["status"] == "ok", names[f"{gpu} {what}"]
    assert names["gpu0 -> gpu1 copy"]["status"] == "ok"
    assert names["gpu1 -> gpu0 copy"]["status"] == "ok"
    assert "GPUFault at 0x" in names["gpu0 faulting kernel is reported"]["detail"]
    assert all(c["status"] != "FAIL" for c in checks)
    assert "passed, 0 failed" in done.stdout
