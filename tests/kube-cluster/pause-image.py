#!/usr/bin/python3
"""pause-image.py BUSYBOX NAME OUT.tar: writes a `docker save`-format archive of a one-layer
image FROM scratch holding only a static busybox, whose entrypoint sleeps forever: the pod
sandbox ("pause") image of the test cluster, built without any registry. Import it with
`ctr -n k8s.io images import OUT.tar`."""
import hashlib
import io
import json
import sys
import tarfile

busybox, name, out = sys.argv[1:4]

layer = io.BytesIO()
with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
    d = tarfile.TarInfo("bin")
    d.type, d.mode = tarfile.DIRTYPE, 0o755
    t.addfile(d)
    with open(busybox, "rb") as f:
        data = f.read()
    b = tarfile.TarInfo("bin/busybox")
    b.size, b.mode = len(data), 0o755
    t.addfile(b, io.BytesIO(data))
layer = layer.getvalue()
diff_id = hashlib.sha256(layer).hexdigest()

config = json.dumps({
    "architecture": "amd64",
    "os": "linux",
    "config": {"Entrypoint": ["/bin/busybox", "sleep", "2147483647"]},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]},
}).encode()
config_id = hashlib.sha256(config).hexdigest()
manifest = json.dumps([{
    "Config": config_id + ".json",
    "RepoTags": [name],
    "Layers": [diff_id + "/layer.tar"],
}]).encode()

with tarfile.open(out, "w") as t:
    for path, data in ((diff_id + "/layer.tar", layer), (config_id + ".json", config), ("manifest.json", manifest)):
        i = tarfile.TarInfo(path)
        i.size, i.mode = len(data), 0o644
        t.addfile(i, io.BytesIO(data))
