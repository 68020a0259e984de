"""``python -m api.boot.ramdisk``: build the deploy ramdisk (same as ``ingot ramdisk build``)."""
from api.boot.ramdisk.build import main

raise SystemExit(main())
