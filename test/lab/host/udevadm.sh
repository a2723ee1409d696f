#!/bin/sh
# Stand-in for udevadm inside a routegen lab host: there is no udev here, and netplan apply only
# needs trigger/settle/test to succeed.
exit 0
