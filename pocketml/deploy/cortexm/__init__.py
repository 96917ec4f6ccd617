"""Cortex-M back end: cross-compile the emitted C, run it in QEMU, measure flash, RAM and instructions.

    build_cortexm(c_dir, core)       arm-none-eabi-gcc -Os for the core (-mcpu from the board's core)
    run_qemu(build, inputs)          qemu-system-arm -M mps2-an386, semihosting, -icount: outputs,
                                     instructions per inference, stack used
    measure_cortexm(c_dir, core, inputs, reference)   both, as one CortexMReport

Needs Debian's gcc-arm-none-eabi, libnewlib-arm-none-eabi and qemu-system-arm
(``make cortexm-toolchain``); ``toolchain_available()`` says whether they are here.
"""

from pocketml.deploy.cortexm.build import CortexMBuild, build_cortexm
from pocketml.deploy.cortexm.measure import CortexMReport, measure_cortexm, measure_for_device
from pocketml.deploy.cortexm.qemu import QemuRun, run_qemu
from pocketml.deploy.cortexm.toolchain import INSTALL_TARGET, core_target, is_cortexm, toolchain_available

__all__ = ["CortexMBuild", "CortexMReport", "QemuRun", "INSTALL_TARGET", "build_cortexm", "core_target",
           "is_cortexm", "measure_cortexm", "measure_for_device", "run_qemu", "toolchain_available"]
