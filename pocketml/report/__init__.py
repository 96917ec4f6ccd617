"""Reports render a Result (terminal table, HTML page); they compute nothing themselves."""

from pocketml.report.terminal import print_devices, print_result

__all__ = ["print_result", "print_devices"]
