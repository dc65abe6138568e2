"""Run a real `tritonserver` on this machine: the wheel's standalone binary or an installation."""
